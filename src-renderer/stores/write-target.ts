/** What will be written, derived from the selection and the build: the source, its block map and its exact size. */
import type { FlashSource } from '../../src-shared/flash';
import { useBuildStore } from './build-store';
import { useImageSizeStore } from './image-size-store';
import { existingImageSource, useSelectionStore } from './selection-store';

export interface WriteSource {
  source: FlashSource;
  bmap: string | null;
  /** Bytes that will land on the drive; null while unknown (being counted, or a download). */
  imageSize: number | null;
  /** The size must be counted (image.measure) before drives can be judged. */
  needsCount: boolean;
  label: string;
  board: string | null;
  /** Identifies the job: a drive selection made for another source is dropped. */
  key: string;
}

export function currentWriteSource(): WriteSource | null {
  const sel = useSelectionStore.getState();
  if (sel.mode === 'image') {
    const source = existingImageSource(sel);
    const info = sel.imageInfo;
    const counted = useImageSizeStore.getState();
    const measured = source.kind === 'file' && counted.path === source.path && counted.status === 'done' ? counted.size : null;
    const size = info && source.kind === 'file' ? (info.imageSize ?? measured) : null;
    const label = source.kind === 'url' ? source.url : source.path;
    return { source, bmap: sel.imageBmap, imageSize: size, needsCount: source.kind === 'file' && !!info && info.imageSize === null, label, board: sel.board, key: `image:${label}` };
  }
  const result = useBuildStore.getState().result;
  if (!result) return null;
  const bmap = result.files.find((f) => f.kind === 'bmap')?.path ?? null;
  return { source: { kind: 'file', path: result.image }, bmap, imageSize: result.size, needsCount: false, label: result.image, board: sel.board, key: `build:${result.historyId}` };
}
