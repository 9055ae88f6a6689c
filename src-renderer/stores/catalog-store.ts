/** Boxes, boards, fragments and what this computer can do (QEMU), loaded once. */
import { boardGuide as sharedBoardGuide } from '../../src-shared/board-guide';
import { create } from 'zustand';
import type { BoardView, BoxView, CatalogView, ErrorInfo, SystemInfo } from '../../src-shared/contract';
import { call, errorInfo } from './api';

interface CatalogState {
  catalog: CatalogView | null;
  system: SystemInfo | null;
  error: ErrorInfo | null;
  load(): Promise<void>;
}

export const useCatalogStore = create<CatalogState>((set) => ({
  catalog: null,
  system: null,
  error: null,
  async load() {
    try {
      const [catalog, system] = await Promise.all([call('catalog.get', {}), call('system.info', {})]);
      set({ catalog, system, error: null });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
}));

export const selectBox =
  (name: string | null) =>
  (s: CatalogState): BoxView | undefined =>
    s.catalog?.boxes.find((b) => b.name === name);
export const selectBoard =
  (name: string | null) =>
  (s: CatalogState): BoardView | undefined =>
    s.catalog?.boards.find((b) => b.name === name);

/** The board's notes and next steps for this Box (openbox gets the board's OpenBSD ones). */
export const boardGuide = (board: BoardView | undefined, box: BoxView | undefined) => sharedBoardGuide(board, box?.recipe === 'official-image');

/** Boards a Box can be built for: every board of its architecture, for openbox those OpenBSD describes. */
export const offersBoard = (board: BoardView, box: BoxView | undefined) => box?.recipe !== 'official-image' || board.openbsd !== null;
