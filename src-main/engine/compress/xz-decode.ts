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

/** liblzma's lzma_stream_decoder flag: go on after a stream's end to the next one (`cat a.xz b.xz`), as `xz -dc` does. */
const LZMA_CONCATENATED = 0x08;
/** The dictionary a decoder may allocate (xz -9 uses 64 MiB; 256 MiB is liblzma's WASM default). */
const DECODER_MEMLIMIT = 256n << 20n;
/** Output per step: the decoder never holds more than this, however well the input compresses (zeros: 7000:1). */
const OUT_BYTES = 1 << 20;

/**
 * A streaming xz decoder, pulled: `input`'s .xz bytes in, the decoded bytes out as a Node stream, at most 1 MiB at a
 * time. (node-liblzma's own TransformStream enqueues everything one input chunk decodes to: 2 GiB of zeros took
 * 2.1 GB of memory.) Concatenated streams and stream padding are decoded as xz-utils does. Bad data, or an error
 * reading `input`, errors the returned stream.
 */
export async function unxzStream(input: AsyncIterable<Uint8Array>): Promise<Readable> {
  const lib = await xzModule();
  async function* decoded(): AsyncGenerator<Buffer> {
    const m = lib.getModule();
    const stream = new lib.WasmLzmaStream(m);
    const out = m._malloc(OUT_BYTES);
    try {
      const init = m._lzma_stream_decoder(stream.ptr, DECODER_MEMLIMIT, LZMA_CONCATENATED);
      if (init !== lib.LZMA_OK) throw new Error(`liblzma could not start a decoder (code ${init})`);
      // One lzma_code step per output block; yields hand each block to the reader before the next is made.
      async function* steps(action: number): AsyncGenerator<Buffer, boolean> {
        for (;;) {
          stream.setOutput(out, OUT_BYTES);
          const ret = lib.code(stream, action);
          const produced = OUT_BYTES - stream.availOut;
          if (produced > 0) yield Buffer.from(lib.copyFromWasm(m, out, produced));
          if (ret === lib.LZMA_STREAM_END) return true;
          if (ret !== lib.LZMA_OK) throw new Error(xzError(ret));
          if (stream.availIn === 0 && stream.availOut > 0) return false;
        }
      }
      let ended = false;
      for await (const chunk of input) {
        if (ended) break;
        const inPtr = lib.copyToWasm(m, chunk);
        try {
          stream.setInput(inPtr, chunk.byteLength);
          ended = yield* steps(lib.LZMA_RUN);
        } finally {
          m._free(inPtr);
        }
      }
      stream.setInput(0, 0);
      if (!ended && !(yield* steps(lib.LZMA_FINISH))) throw new Error('the .xz data ends before its stream does');
    } finally {
      lib.end(stream);
      stream.free();
      m._free(out);
    }
  }
  return Readable.from(decoded(), { objectMode: false });
}

/** liblzma's return codes, as xz-utils words them. */
function xzError(code: number): string {
  const words: Record<number, string> = {
    5: 'not enough memory',
    6: 'the memory limit was reached',
    7: 'file format not recognized',
    8: 'unsupported options',
    9: 'compressed data is corrupt',
    10: 'unexpected end of input',
  };
  return words[code] ?? `liblzma error ${code}`;
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
