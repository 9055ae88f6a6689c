/** What will be written, derived from the selection and the build: the source, its block map and its exact size. */
import type { FlashSource } from '../../src-shared/flash';
import { useBuildStore } from './build-store';
import { existingImageSource, useSelectionStore } from './selection-store';

export interface WriteSource {
  source: FlashSource;
  bmap: string | null;
  /** Bytes that will land on the drive; null when unknown (compressed or downloaded images). */
  imageSize: number | null;
  label: string;
  board: string | null;
}

export function currentWriteSource(): WriteSource | null {
  const sel = useSelectionStore.getState();
  if (sel.mode === 'image') {
    const source = existingImageSource(sel);
    const size = sel.imageInfo && !sel.imageInfo.compressed ? sel.imageInfo.size : null;
    return { source, bmap: sel.imageBmap, imageSize: size, label: source.kind === 'url' ? source.url : source.path, board: sel.board };
  }
  const result = useBuildStore.getState().result;
  if (!result) return null;
  const bmap = result.files.find((f) => f.kind === 'bmap')?.path ?? null;
  return { source: { kind: 'file', path: result.image }, bmap, imageSize: result.size, label: result.image, board: sel.board };
}
