export { listDrives, readExtraDrives, extraDevicesFromEnv, EXTRA_DRIVES_ENV, type ListOptions } from './list';
export { watchDrives, type WatchOptions } from './watch';
export { fromDrivelist, fromLsblk } from './normalize';
