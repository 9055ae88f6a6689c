/** What to write: a Box on an architecture and board (to build), or an existing image file or URL. */
import { create } from 'zustand';
import type { Arch } from '../../src-shared/arch';
import type { BoardView, BoxView, ErrorInfo, ImageInfo } from '../../src-shared/contract';
import type { FlashSource } from '../../src-shared/flash';
import { call, errorInfo } from './api';
import { offersBoard, useCatalogStore } from './catalog-store';

export type Mode = 'build' | 'image';

interface SelectionState {
  mode: Mode;
  box: string | null;
  arch: Arch | null;
  board: string | null;
  /** The board picked on the first screen ("What is it for?"); it then filters the Boxes, and the board step is skipped. */
  device: string | null;
  /** Existing image: a path on the computer running Nexus, or a URL with its SHA-256. */
  imagePath: string;
  imageUrl: string;
  imageSha256: string;
  imageInfo: ImageInfo | null;
  /** Block map that goes with a previous build's image. */
  imageBmap: string | null;
  imageError: ErrorInfo | null;
  chooseBox(name: string): void;
  /** Picks (or, with null or the same name again, clears) the device on the first screen. */
  chooseDevice(name: string | null): void;
  chooseArch(arch: Arch): void;
  chooseBoard(name: string): void;
  restore(s: { box?: string; arch?: Arch; board?: string }): void;
  setImageField(field: 'imagePath' | 'imageUrl' | 'imageSha256', value: string): void;
  /** Native file dialog (desktop app): fills in the path. */
  pickImageFile(): Promise<void>;
  /** Checks the existing image and switches to image mode; false when it is not usable. */
  useExistingImage(): Promise<boolean>;
  /** Rewrites a previous build without rebuilding. */
  useHistoryImage(path: string, size: number, board: string, bmap: string | null): void;
}

/** Boards valid for an architecture and Box (the only combinations offered). */
export function boardsFor(arch: Arch | null, boxName: string | null = null): BoardView[] {
  return boardsForBox(boxName).filter((b) => b.arch === arch);
}

/** Whether a Box can be built for a board (its architecture, and for openbox what OpenBSD supports). */
export const boxFitsBoard = (box: BoxView, board: BoardView) => box.architectures.includes(board.arch) && offersBoard(board, box);

/** Every board a Box can be built for, whatever the architecture (the architecture follows from the board). */
export function boardsForBox(boxName: string | null): BoardView[] {
  const catalog = useCatalogStore.getState().catalog;
  const box = catalog?.boxes.find((b) => b.name === boxName);
  return (catalog?.boards ?? []).filter((b) => !box || boxFitsBoard(box, b));
}

/** The board kept or picked when the architecture changes: the same kind (hardware stays hardware) where possible. */
function defaultBoard(arch: Arch, current: string | null, boxName: string | null): string | null {
  const boards = boardsFor(arch, boxName);
  if (current && boards.some((b) => b.name === current)) return current;
  const kind = useCatalogStore.getState().catalog?.boards.find((b) => b.name === current)?.kind ?? 'vm';
  return (
    (kind === 'vm' ? boards.find((b) => b.name === `qemu-${arch}`) : boards.find((b) => b.kind === 'hardware'))?.name ??
    boards.find((b) => b.name === `qemu-${arch}`)?.name ??
    boards[0]?.name ??
    null
  );
}

export const useSelectionStore = create<SelectionState>((set, get) => ({
  mode: 'build',
  box: null,
  arch: null,
  board: null,
  device: null,
  imagePath: '',
  imageUrl: '',
  imageSha256: '',
  imageInfo: null,
  imageBmap: null,
  imageError: null,

  chooseBox(name) {
    const catalog = useCatalogStore.getState().catalog;
    const box = catalog?.boxes.find((b) => b.name === name);
    if (!box) return;
    const device = catalog?.boards.find((b) => b.name === get().device);
    if (device) {
      if (boxFitsBoard(box, device)) set({ mode: 'build', box: name, arch: device.arch, board: device.name });
      return;
    }
    const { arch } = get();
    const nextArch = arch && box.architectures.includes(arch) ? arch : box.architectures[0]!;
    set({ mode: 'build', box: name, arch: nextArch, board: defaultBoard(nextArch, get().board, name) });
  },
  chooseDevice(name) {
    const catalog = useCatalogStore.getState().catalog;
    const board = catalog?.boards.find((b) => b.name === name);
    if (!board || name === get().device) {
      set({ device: null });
      return;
    }
    const box = catalog?.boxes.find((b) => b.name === get().box);
    if (box && !boxFitsBoard(box, board)) return;
    set({ device: board.name, board: board.name, arch: board.arch, mode: 'build' });
  },
  chooseArch(arch) {
    const box = useCatalogStore.getState().catalog?.boxes.find((b) => b.name === get().box);
    if (box && !box.architectures.includes(arch)) return;
    const board = defaultBoard(arch, get().board, get().box);
    set({ arch, board, device: get().device ? board : null });
  },
  chooseBoard(name) {
    const board = boardsForBox(get().box).find((b) => b.name === name);
    if (board) set({ board: name, arch: board.arch, device: get().device ? name : null });
  },
  restore({ box, arch, board }) {
    const catalog = useCatalogStore.getState().catalog;
    const b = catalog?.boxes.find((x) => x.name === box);
    if (!b) return;
    const a = arch && b.architectures.includes(arch) ? arch : b.architectures[0]!;
    set({ box: b.name, arch: a, board: defaultBoard(a, board ?? null, b.name) });
  },
  setImageField(field, value) {
    set({ [field]: value, imageError: null, imageBmap: null } as Partial<SelectionState>);
  },
  async pickImageFile() {
    try {
      const { path } = await call('image.pick', {});
      if (path) set({ imagePath: path, imageUrl: '', imageError: null, imageBmap: null });
    } catch (err) {
      set({ imageError: errorInfo(err) });
    }
  },
  async useExistingImage() {
    const { imagePath, imageUrl, imageSha256 } = get();
    if (imageUrl.trim()) {
      if (!/^https?:\/\//.test(imageUrl.trim())) {
        set({ imageError: { code: 'BAD_URL', message: 'Only http:// and https:// URLs can be downloaded.', hint: 'Paste the full address of the image.' } });
        return false;
      }
      if (!/^[0-9a-fA-F]{64}$/.test(imageSha256.trim())) {
        set({
          imageError: {
            code: 'CHECKSUM_REQUIRED',
            message: 'A download needs its SHA-256 checksum (64 hex digits).',
            hint: 'Copy it from the page you got the link from.',
          },
        });
        return false;
      }
      set({ mode: 'image', imageInfo: null, imageBmap: null, imageError: null });
      return true;
    }
    try {
      const info = await call('image.inspect', { path: imagePath.trim() });
      set({ mode: 'image', imageInfo: info, imageBmap: info.bmap, imageError: null, board: null });
      return true;
    } catch (err) {
      set({ imageError: errorInfo(err) });
      return false;
    }
  },
  useHistoryImage(path, size, board, bmap) {
    set({
      mode: 'image',
      imagePath: path,
      imageUrl: '',
      imageInfo: { path, size, compressed: false, bmap, imageSize: size },
      imageBmap: bmap,
      imageError: null,
      board,
    });
  },
}));

/** The source to write in image mode. */
export function existingImageSource(s: Pick<SelectionState, 'imageUrl' | 'imageSha256' | 'imageInfo' | 'imagePath'>): FlashSource {
  if (s.imageUrl.trim()) return { kind: 'url', url: s.imageUrl.trim(), sha256: s.imageSha256.trim().toLowerCase() };
  return { kind: 'file', path: s.imageInfo?.path ?? s.imagePath.trim() };
}
