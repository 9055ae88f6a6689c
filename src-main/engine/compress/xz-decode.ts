/**
 * xz decoding in process: liblzma in WebAssembly (node-liblzma/wasm, the library xz-utils is built on), for hosts
 * without the `xz` program (the macOS and Windows apps, minimal Linux installs) and for kernel modules (.ko.xz).
 * Where `xz` is installed, flashing still runs it: it reads the file itself, on the other core.
 */
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { xzModule } from './codec-sessions';

/** A whole (small) .xz in memory, decoded: a kernel module. */
export async function unxzBuffer(bytes: Uint8Array): Promise<Buffer> {
  return Buffer.from(await (await xzModule()).unxzAsync(bytes));
}

/**
 * A streaming xz decoder: `input`'s .xz bytes in, the decoded bytes out as a Node stream (backpressure through the
 * decoder's own queue). Bad data, or an error reading `input`, errors the returned stream.
 */
export async function unxzStream(input: AsyncIterable<Uint8Array>): Promise<Readable> {
  const decoder = (await xzModule()).createUnxz();
  const writer = decoder.writable.getWriter();
  const reader = decoder.readable.getReader();
  const feeding = (async () => {
    for await (const chunk of input) await writer.write(chunk);
    await writer.close();
  })();
  // A failed read of the input ends the decoder too; the error reaches the reader below.
  feeding.catch((e: unknown) => writer.abort(e).catch(() => undefined));
  async function* decoded() {
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      await feeding;
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
  return Readable.from(decoded(), { objectMode: false });
}

/** Bounds on what a file may make us read from its end: a hostile footer must not cost gigabytes or a billion reads. */
const MAX_INDEX_BYTES = 16 << 20;
const MAX_PADDING_BYTES = 1 << 20;
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/**
 * The decompressed size an .xz file records in its indexes (xz-file-format 1.2: each stream ends with an index of
 * its blocks' sizes and a 12-byte footer), read from the end of the file: the sum over every concatenated stream,
 * stream padding skipped. Null when the file does not parse as .xz this way; then only decoding can tell.
 * `xz --robot --list` gives the same number where `xz` is installed.
 */
export async function xzRecordedSize(read: (position: number, length: number) => Promise<Buffer>, fileSize: number): Promise<number | null> {
  let end = fileSize;
  let total = 0;
  let padding = 0;
  while (end > 0) {
    if (end < 32 || end % 4 !== 0) return null;
    const footer = await read(end - 12, 12);
    if (footer.readUInt32LE(8) === 0) {
      // Stream padding: null bytes in groups of four (a footer ends with "YZ"), read back a block at a time.
      const chunk = await read(Math.max(0, end - 65536), Math.min(65536, end));
      let zeros = 0;
      while (zeros < chunk.length && chunk[chunk.length - 1 - zeros] === 0) zeros++;
      zeros -= zeros % 4;
      // Padding only follows a stream: a file of zeros, or zeros before its first stream, is not .xz.
      if ((padding += zeros) > MAX_PADDING_BYTES || zeros >= end) return null;
      end -= zeros;
      continue;
    }
    if (footer[10] !== 0x59 || footer[11] !== 0x5a || crc32(footer.subarray(4, 10)) !== footer.readUInt32LE(0)) return null;
    const indexSize = (footer.readUInt32LE(4) + 1) * 4;
    // A real index is ~16 bytes per block: 80 KiB for 5 GiB in 1 MiB blocks.
    if (indexSize > end - 24 || indexSize > MAX_INDEX_BYTES) return null;
    const index = await read(end - 12 - indexSize, indexSize);
    if (index[0] !== 0 || crc32(index.subarray(0, indexSize - 4)) !== index.readUInt32LE(indexSize - 4)) return null;
    let at = 1;
    const varint = (): number | null => {
      let value = 0;
      for (let i = 0; i < 9 && at < indexSize - 4; i++) {
        const b = index[at++]!;
        value += (b & 0x7f) * 2 ** (7 * i);
        if (!(b & 0x80)) return Number.isSafeInteger(value) ? value : null;
      }
      return null;
    };
    const records = varint();
    if (records === null) return null;
    let blocks = 0;
    for (let r = 0; r < records; r++) {
      const unpadded = varint();
      const size = varint();
      if (unpadded === null || size === null) return null;
      blocks += Math.ceil(unpadded / 4) * 4;
      total += size;
    }
    const streamSize = 12 + blocks + indexSize + 12;
    if (streamSize > end) return null;
    // The stream's header: the magic, and the same flags as the footer, both under their CRC32.
    const header = await read(end - streamSize, 12);
    if (!header.subarray(0, 6).equals(XZ_MAGIC) || !header.subarray(6, 8).equals(footer.subarray(8, 10))) return null;
    if (crc32(header.subarray(6, 8)) !== header.readUInt32LE(8)) return null;
    end -= streamSize;
  }
  return Number.isSafeInteger(total) ? total : null;
}
