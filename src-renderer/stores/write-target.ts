/** What will be written, derived from the selection and the build: the source, its block map and its exact size. */
import type { FlashSource } from '../../src-shared/flash';
import { useBuildStore } from './build-store';
import { useImageFetchStore, useImageSizeStore } from './image-size-store';
import { existingImageSource, useSelectionStore } from './selection-store';

export interface WriteSource {
  source: FlashSource;
  bmap: string | null;
  /** Bytes that will land on the drive; null while unknown (being counted, or a download). */
  imageSize: number | null;
  /** The size must be counted (image.measure) before drives can be judged. */
  needsCount: boolean;
  /** A URL not yet downloaded and checked (image.fetch). */
  needsDownload: boolean;
  label: string;
  board: string | null;
  /** Identifies the job: a drive selection made for another source is dropped. */
  key: string;
}

export function currentWriteSource(): WriteSource | null {
  const sel = useSelectionStore.getState();
  if (sel.mode === 'image') {
    const asked = existingImageSource(sel);
    // A URL is downloaded and checked first (image.fetch); from then on it is a local file like any other.
    const fetched = useImageFetchStore.getState();
    const downloaded = asked.kind === 'url' && fetched.url === asked.url && fetched.status === 'done' ? fetched.info : null;
    const source: FlashSource = downloaded ? { kind: 'file', path: downloaded.path } : asked;
    const info = downloaded ?? sel.imageInfo;
    const bmap = downloaded ? downloaded.bmap : sel.imageBmap;
    const counted = useImageSizeStore.getState();
    const measured = source.kind === 'file' && counted.path === source.path && counted.status === 'done' ? counted.size : null;
    const size = info && source.kind === 'file' ? (info.imageSize ?? measured) : null;
    const label = asked.kind === 'url' ? asked.url : asked.path;
    return {
      source,
      bmap,
      imageSize: size,
      needsCount: source.kind === 'file' && !!info && info.imageSize === null,
      needsDownload: asked.kind === 'url' && !downloaded,
      label,
      board: sel.board,
      key: `image:${label}`,
    };
  }
  const result = useBuildStore.getState().result;
  if (!result) return null;
  const bmap = result.files.find((f) => f.kind === 'bmap')?.path ?? null;
  return {
    source: { kind: 'file', path: result.image },
    bmap,
    imageSize: result.size,
    needsCount: false,
    needsDownload: false,
    label: result.image,
    board: sel.board,
    key: `build:${result.historyId}`,
  };
}
