export { flash, enforcePolicy, loadBmap, probeImageSize, protectedPaths, type FlashRunOptions } from './flash';
export { writeImage, HEAD_BYTES, DEFAULT_CHUNK, type WriteOptions } from './writer';
export { verifySegments, verifyImageOnDevice } from './verify';
export { verifyDrive } from './verify-drive';
export { openSource, detectFormat, type OpenedSource, type SourceFormat } from './source';
export { parseBmap, bmapSelfChecksumOk, type Bmap, type BmapRange } from './bmap';
export { openTarget, type TargetDevice } from './device';
export { AlignedPool, ALIGNMENT } from './aligned';
export { imageSize, recordedImageSize, countImageSize, type ImageSize, type SizeMethod } from './image-size';
