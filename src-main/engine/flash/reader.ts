/** Sequential readers that fill caller-owned (aligned) buffers: from a file descriptor or from a stream. */
import type { FileHandle } from 'node:fs/promises';

export interface ChunkReader {
  /** Fills dst[off, off+len) as far as the source goes; returns the byte count (< len only at the end). */
  readInto(dst: Buffer, off: number, len: number): Promise<number>;
  /** Skips n bytes (bmap holes); cheap for files, discards for streams. */
  skip(n: number): Promise<void>;
}

export class FileChunkReader implements ChunkReader {
  private pos = 0;
  constructor(
    private readonly fh: FileHandle,
    private readonly onRead: (n: number) => void,
  ) {}

  async readInto(dst: Buffer, off: number, len: number): Promise<number> {
    let n = 0;
    while (n < len) {
      const { bytesRead } = await this.fh.read(dst, off + n, len - n, this.pos);
      if (bytesRead === 0) break;
      n += bytesRead;
      this.pos += bytesRead;
      this.onRead(bytesRead);
    }
    return n;
  }

  async skip(n: number): Promise<void> {
    this.pos += n;
    this.onRead(n);
  }
}

/** Copies from an async iterable of chunks (decompressor stdout, download, zip entry) into buffers. */
export class StreamChunkReader implements ChunkReader {
  private cur: Buffer | null = null;
  private at = 0;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (!this.cur || this.at >= this.cur.length) {
      const r = await this.it.next();
      if (r.done) return false;
      const v = r.value;
      this.cur = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      this.at = 0;
    }
    return true;
  }

  async readInto(dst: Buffer, off: number, len: number): Promise<number> {
    let n = 0;
    while (n < len && (await this.fill())) {
      const k = Math.min(len - n, this.cur!.length - this.at);
      this.cur!.copy(dst, off + n, this.at, this.at + k);
      this.at += k;
      n += k;
    }
    return n;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0 && (await this.fill())) {
      const k = Math.min(left, this.cur!.length - this.at);
      this.at += k;
      left -= k;
    }
  }
}
