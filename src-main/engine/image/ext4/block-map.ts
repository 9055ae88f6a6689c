/** The filesystem's block allocation bitmap while we write it: metadata runs first, then data in order. */
import { NexusError } from '../../../../src-shared/errors';

/** ext4 extents hold at most 32768 blocks. */
export const MAX_EXTENT = 32768;

export interface Run {
  start: number;
  len: number;
}

export class BlockMap {
  readonly bits: Uint8Array;
  private cursor = 0;

  constructor(readonly blocks: number) {
    this.bits = new Uint8Array(Math.ceil(blocks / 8));
  }

  used(b: number): boolean {
    return (this.bits[b >> 3]! & (1 << (b & 7))) !== 0;
  }

  mark(start: number, len: number): void {
    for (let b = start; b < start + len; b++) this.bits[b >> 3]! |= 1 << (b & 7);
  }

  /** The first free run of `len` blocks at or after `goal` (wrapping to 0), marked used. */
  contiguous(len: number, goal: number, what: string): number {
    for (const from of [goal, 0]) {
      let run = 0;
      for (let b = from; b < this.blocks; b++) {
        run = this.used(b) ? 0 : run + 1;
        if (run === len) {
          this.mark(b - len + 1, len);
          return b - len + 1;
        }
      }
    }
    throw tooSmall(`${len} contiguous blocks for ${what}`);
  }

  /** `count` free blocks after the previous allocation, as runs of at most MAX_EXTENT blocks. */
  take(count: number, what: string): Run[] {
    const runs: Run[] = [];
    let b = this.cursor;
    while (count > 0) {
      while (b < this.blocks && this.used(b)) b++;
      if (b >= this.blocks) throw tooSmall(what);
      const start = b;
      while (b < this.blocks && !this.used(b) && b - start < Math.min(count, MAX_EXTENT)) b++;
      this.mark(start, b - start);
      runs.push({ start, len: b - start });
      count -= b - start;
    }
    this.cursor = b;
    return runs;
  }

  free(): number {
    let n = 0;
    for (let b = 0; b < this.blocks; b++) if (!this.used(b)) n++;
    return n;
  }
}

export function tooSmall(what: string): NexusError {
  return new NexusError(
    'EXT4_TOO_SMALL',
    `The root filesystem does not fit in its ext4 filesystem: no room for ${what}.`,
    'Make the root partition larger (or leave its size on "auto") or install fewer packages.',
  );
}
