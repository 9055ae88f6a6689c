/** The lock file type is the feed stage's (packages.lock.json); re-exported so image code has one import. */
export type { LockedPackage, PackageLock as LockFile } from '../feeds/lock';
