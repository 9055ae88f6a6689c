/**
 * Image sources: raw files, compressed files (xz, gz, zst, bz2), a zip holding one image, and
 * http(s) URLs checked against an expected SHA-256. Each opens as a sequential ChunkReader.
 *
 * Decompression choice: xz, zstd and bzip2 run as the host's own binaries (execa streams) where they are
 * installed: a child process is the cheapest way to get decompression off our thread and onto the second
 * core, and Node's built-in zstd arrives only in Node 22.15. Without an `xz` program (the macOS and Windows
 * apps), .xz images (Raspberry Pi OS, Armbian, Ubuntu's Pi images) are decoded in process by liblzma in
 * WebAssembly (compress/xz-decode.ts), at about the C tool's speed; .zst and .bz2 then need their tools
 * (TOOL_MISSING with an install hint). gzip and zip use Node's zlib, which runs on libuv's thread pool.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { execa } from 'execa';
import yauzl from 'yauzl';
import { CancelledError, NexusError } from '../../../src-shared/errors';
import { errorMessage } from '../../../src-shared/narrow';
import type { FlashSource } from '../../../src-shared/flash';
import { bufferChunks } from '../byte-chunks';
import { unxzStream, xzRecordedSize } from '../compress/xz-decode';
import { requireTool, whichTool } from '../host-tools';
import { FileChunkReader, StreamChunkReader, type ChunkReader } from './reader';

export type SourceFormat = 'raw' | 'xz' | 'gz' | 'zst' | 'bz2' | 'zip';

export interface OpenedSource {
  format: SourceFormat;
  name: string;
  /** Local file (for the "source lives on the target" rule); null for URLs. */
  localPath: string | null;
  /** Exact decompressed size, or null when the format cannot tell up front (bz2, some gz, URLs). */
  size: number | null;
  /** Size of what is read (compressed file / download), when known. */
  sourceSize: number | null;
  /** Compressed bytes consumed so far. */
  bytesRead(): number;
  reader: ChunkReader;
  /** Random access into the image (raw files only): finds the exact byte of a verification mismatch. */
  readAt?(dst: Buffer, len: number, position: number): Promise<number>;
  /** Call after the last byte: throws if the decompressor or the checksum says the source was bad. */
  finish(): Promise<{ sha256?: string } | void>;
  close(): Promise<void>;
}

const MAGIC: Array<[SourceFormat, number[]]> = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['gz', [0x1f, 0x8b]],
  ['zst', [0x28, 0xb5, 0x2f, 0xfd]],
  ['bz2', [0x42, 0x5a, 0x68]],
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
];

/** Detects the format from the first bytes (file names lie; magic numbers do not). */
export function detectFormat(head: Uint8Array): SourceFormat {
  for (const [fmt, magic] of MAGIC) if (magic.every((b, i) => head[i] === b)) return fmt;
  return 'raw';
}

const TOOLS = {
  // Single-threaded: on these 2-core machines xz's threaded decoder was slower (0.57 s vs 0.32 s for 256 MiB).
  xz: { cmd: 'xz', args: ['-dc'] },
  zst: { cmd: 'zstd', args: ['-dcq'] },
  bz2: { cmd: 'bzip2', args: ['-dc'] },
} satisfies Partial<Record<SourceFormat, { cmd: string; args: string[] }>>;

/** Deflate cannot expand more than about 1032:1 (RFC 1951: the longest match, 258 bytes, still costs 2 bits). */
export const DEFLATE_MAX_RATIO = 1032;

/** Decompressed size from the container's index, when it is exact. */
export async function decompressedSize(path: string, format: SourceFormat, fileSize: number): Promise<number | null> {
  if (format === 'raw') return fileSize;
  if (format === 'xz') {
    if (!(await whichTool('xz'))) {
      const fh = await open(path, 'r');
      try {
        return await xzRecordedSize(async (position, length) => (await fh.read(Buffer.alloc(length), 0, length, position)).buffer, fileSize);
      } finally {
        await fh.close();
      }
    }
    const r = await execa('xz', ['--robot', '--list', path], { reject: false });
    const totals = r.stdout.split('\n').find((l) => l.startsWith('totals\t'));
    const n = totals ? Number(totals.split('\t')[4]) : NaN;
    return Number.isSafeInteger(n) ? n : null;
  }
  if (format === 'zst') {
    const r = await execa('zstd', ['-lv', path], { reject: false });
    const m = /Decompressed Size:.*\((\d+) B\)/.exec(`${r.stdout}\n${r.stderr}`);
    return m ? Number(m[1]) : null;
  }
  if (format === 'gz' && fileSize * DEFLATE_MAX_RATIO < 2 ** 32) {
    // ISIZE is the last member's size mod 2^32: only trustworthy when the whole output must be below 4 GiB,
    // which deflate's ratio limit guarantees for small files. Then it is exact for one member (what gzip and
    // pigz write) and a lower bound for several, so the size check stays safe. Larger files are counted
    // (image-size.ts): a 100 MB .gz of a mostly empty 6 GiB image has an ISIZE of 2 GiB.
    const fh = await open(path, 'r');
    try {
      const b = Buffer.alloc(4);
      await fh.read(b, 0, 4, fileSize - 4);
      return b.readUInt32LE(0);
    } finally {
      await fh.close();
    }
  }
  return null;
}

function corrupt(name: string, detail: string): NexusError {
  return new NexusError(
    'SOURCE_CORRUPT',
    `The image ${name} could not be decompressed: ${detail.trim().split('\n').pop() ?? 'unknown error'}.`,
    'Download the image again; the file is damaged or truncated.',
  );
}

/**
 * Spawns the host decompressor; stdout becomes the reader. A local file is opened by the tool itself
 * (no copy through our process); a download is piped into its stdin.
 */
async function hostDecompress(format: keyof typeof TOOLS, name: string, input: Readable | string, signal?: AbortSignal) {
  const tool = TOOLS[format];
  await requireTool(tool.cmd, `reading .${format} images`);
  const fromFile = typeof input === 'string';
  const proc = execa(tool.cmd, [...tool.args, ...(fromFile ? ['--', input] : [])], {
    stdin: fromFile ? 'ignore' : 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    reject: false,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  // The decompressor may exit early on corrupt data (EPIPE here): its exit status reports it.
  const feeding = typeof input !== 'string' && proc.stdin ? pipeline(input, proc.stdin).catch(() => undefined) : Promise.resolve();
  return {
    // execa's iterable, not proc.stdout: execa also listens on stdout and chunks would be lost.
    reader: new StreamChunkReader(proc.iterable({ binary: true, preserveNewlines: true })),
    /** Bytes the tool has read so far (Linux /proc; 0 elsewhere). */
    toolBytesRead(): number {
      try {
        const m = /rchar:\s*(\d+)/.exec(readFileSync(`/proc/${proc.pid}/io`, 'utf8'));
        return m ? Number(m[1]) : 0;
      } catch {
        return 0;
      }
    },
    async finish() {
      const r = await proc;
      await feeding;
      if (signal?.aborted) throw new CancelledError();
      if (r.exitCode !== 0) throw corrupt(name, String(r.stderr ?? '') || `${tool.cmd} exited with ${r.exitCode}`);
    },
    close() {
      if (!fromFile) input.destroy();
      if (proc.exitCode === null) proc.kill('SIGKILL');
      return proc.then(
        () => undefined,
        () => undefined,
      );
    },
  };
}

function openZip(path: string | number): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, zip?: yauzl.ZipFile) => (err || !zip ? reject(err) : resolve(zip));
    if (typeof path === 'number') yauzl.fromFd(path, { lazyEntries: true, autoClose: false }, done);
    else yauzl.open(path, { lazyEntries: true, autoClose: false }, done);
  });
}

/** The file the privileged helper checked (privileged/source-check.ts): the same inode must be what is read. */
export interface PinnedFile {
  dev: number;
  ino: number;
}

/** The single image inside a zip (directories and macOS resource forks ignored). */
async function zipImageEntry(zip: yauzl.ZipFile, name: string): Promise<yauzl.Entry> {
  const entries: yauzl.Entry[] = await new Promise((resolve, reject) => {
    const all: yauzl.Entry[] = [];
    zip.on('entry', (e: yauzl.Entry) => {
      all.push(e);
      zip.readEntry();
    });
    zip.on('end', () => resolve(all));
    zip.on('error', reject);
    zip.readEntry();
  });
  const files = entries.filter((e) => !e.fileName.endsWith('/') && !e.fileName.startsWith('__MACOSX/'));
  const images = files.length === 1 ? files : files.filter((e) => /\.(img|iso|raw|bin)$/i.test(e.fileName));
  const [image, ...others] = images;
  if (!image || others.length) {
    throw new NexusError(
      'ZIP_NOT_ONE_IMAGE',
      `${name} holds ${files.length} files and not exactly one image.`,
      'Extract the image you want and flash that file.',
    );
  }
  return image;
}

/**
 * With `pinned` (the privileged helper), `path` is the real path the helper checked: it is opened without following
 * a link, must still be that inode, and every format reads that open file (never the path again).
 */
async function openFile(path: string, signal?: AbortSignal, pinned?: PinnedFile): Promise<OpenedSource> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new NexusError('SOURCE_NOT_FOUND', `Cannot read the image ${path}: ${e.code ?? e.message}.`, 'Check the path.');
  });
  if (!st.isFile()) throw new NexusError('SOURCE_NOT_FOUND', `${path} is not a regular file.`, 'Give the path of an image file.');
  const fh = await open(path, pinned ? constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK : 'r').catch((e: NodeJS.ErrnoException) => {
    throw new NexusError(
      'SOURCE_CHANGED',
      `The image ${path} changed after it was checked (${e.code ?? e.message}).`,
      'Choose the image again; nothing was written.',
    );
  });
  if (pinned) {
    const now = await fh.stat();
    if (!now.isFile() || now.dev !== pinned.dev || now.ino !== pinned.ino) {
      await fh.close();
      throw new NexusError('SOURCE_CHANGED', `The image ${path} was replaced after it was checked.`, 'Choose the image again; nothing was written.');
    }
  }
  const head = Buffer.alloc(8);
  await fh.read(head, 0, 8, 0);
  const format = detectFormat(head);
  const name = basename(path);
  let consumed = 0;
  const base = { format, name, localPath: path, sourceSize: st.size, bytesRead: () => consumed };

  if (format === 'raw') {
    return {
      ...base,
      size: st.size,
      reader: new FileChunkReader(fh, (n) => (consumed += n)),
      readAt: async (dst, len, position) => (await fh.read(dst, 0, len, position)).bytesRead,
      finish: async () => ({}),
      close: () => fh.close(),
    };
  }
  if (!pinned) await fh.close();
  const fileStream = (): Readable => (pinned ? fh.createReadStream({ highWaterMark: 1 << 20, start: 0 }) : createReadStream(path, { highWaterMark: 1 << 20 }));

  if (format === 'zip') {
    const zip = await openZip(pinned ? fh.fd : path);
    const entry = await zipImageEntry(zip, name).catch((e) => {
      zip.close();
      throw e;
    });
    const stream: Readable = await new Promise((resolve, reject) => zip.openReadStream(entry, (err, s) => (err || !s ? reject(err) : resolve(s))));
    let failure: Error | null = null;
    stream.on('error', (e) => (failure = e));
    return {
      ...base,
      name: `${name}:${entry.fileName}`,
      size: entry.uncompressedSize,
      sourceSize: entry.uncompressedSize,
      reader: new StreamChunkReader(counting(stream, (n) => (consumed += n))),
      finish: async () => {
        if (failure) throw corrupt(name, failure.message);
        return {};
      },
      close: async () => {
        stream.destroy();
        zip.close();
        if (pinned) await fh.close().catch(() => undefined);
      },
    };
  }

  const size = await decompressedSize(path, format, st.size);
  if (format === 'gz')
    return {
      ...base,
      size,
      ...gunzip(
        counting(fileStream(), (n) => (consumed += n)),
        name,
      ),
    };
  if (await xzInProcess(format))
    return {
      ...base,
      size,
      ...(await wasmUnxz(
        counting(fileStream(), (n) => (consumed += n)),
        name,
      )),
    };
  const tool = await hostDecompress(format, name, pinned ? fileStream() : path, signal);
  let seen = 0;
  // rchar counts every byte the tool read (the file, shared libraries): clamp to the file size.
  return { ...base, size, ...tool, bytesRead: () => (seen = Math.min(st.size, Math.max(seen, tool.toolBytesRead()))) };
}

/** Counts bytes as they are pulled (a 'data' listener would start the flow before anyone reads). */
function counting(stream: Readable, onBytes: (n: number) => void): Readable {
  async function* gen() {
    for await (const c of bufferChunks(stream)) {
      onBytes(c.length);
      yield c;
    }
  }
  const out = Readable.from(gen(), { objectMode: false });
  out.on('close', () => stream.destroy());
  return out;
}

function gunzip(input: Readable, name: string) {
  const z = createGunzip({ chunkSize: 1 << 20 });
  let failure: Error | null = null;
  const done = pipeline(input, z).catch((e: Error) => (failure = e));
  return {
    reader: new StreamChunkReader(z),
    finish: async () => {
      await done;
      if (failure) throw corrupt(name, failure.message);
    },
    close: async () => {
      input.destroy();
      z.destroy();
    },
  };
}

/**
 * An .xz stream decoded in process (no `xz` on this host): liblzma in WebAssembly. As with the host tool, bad data
 * ends the output early and finish() reports it as the source's fault (SOURCE_CORRUPT), not the drive's.
 */
async function wasmUnxz(input: Readable, name: string) {
  const decoded = await unxzStream(input);
  let failure: Error | null = null;
  async function* untilError() {
    try {
      yield* decoded;
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e));
    }
  }
  return {
    reader: new StreamChunkReader(untilError()),
    finish: async () => {
      if (failure) throw corrupt(name, failure.message);
    },
    close: async () => {
      input.destroy();
      decoded.destroy();
    },
  };
}

/** True when .xz sources are decoded in process, because the host has no `xz`. */
const xzInProcess = async (format: SourceFormat) => format === 'xz' && !(await whichTool('xz'));

/** Peeks the first chunk of a stream to sniff its format, then replays it. */
async function peek(stream: AsyncIterable<Buffer>): Promise<{ head: Buffer; rest: Readable }> {
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : first.value;
  async function* replay() {
    if (head.length) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head, rest: Readable.from(replay(), { objectMode: false }) };
}

async function openUrl(url: string, expected: string, signal?: AbortSignal): Promise<OpenedSource> {
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ?? null, redirect: 'follow' });
  } catch (e) {
    if (signal?.aborted) throw new CancelledError();
    throw new NexusError('DOWNLOAD_FAILED', `Could not download ${url}: ${errorMessage(e)}.`, 'Check the URL and your network connection.');
  }
  if (!res.ok || !res.body) throw new NexusError('DOWNLOAD_FAILED', `Downloading ${url} failed with HTTP ${res.status}.`, 'Check the URL.');
  const length = Number(res.headers.get('content-length'));
  const sourceSize = Number.isSafeInteger(length) && length > 0 ? length : null;
  const hash = createHash('sha256');
  let consumed = 0;
  const body = res.body.getReader();
  async function* counted() {
    try {
      for (let r = await body.read(); !r.done; r = await body.read()) {
        const c = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
        hash.update(c);
        consumed += c.length;
        yield c;
      }
    } finally {
      // Stopped early (cancel, a bad format): the connection is closed, not left to the garbage collector.
      await body.cancel().catch(() => undefined);
    }
  }
  const { head, rest } = await peek(counted());
  const format = detectFormat(head);
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
  if (format === 'zip')
    throw new NexusError('ZIP_URL_UNSUPPORTED', 'A zip cannot be streamed from a URL (its index is at the end).', 'Download the zip first and flash the file.');
  const checkSum = () => {
    const got = hash.digest('hex');
    if (got !== expected.toLowerCase()) {
      throw new NexusError(
        'SOURCE_CHECKSUM_MISMATCH',
        `The download of ${name} has SHA-256 ${got}, expected ${expected.toLowerCase()}.`,
        'The file changed on the server or was damaged in transit; check the published checksum and retry.',
      );
    }
    return got;
  };
  const base = { format, name, localPath: null, sourceSize, bytesRead: () => consumed };
  // The download is hashed as it streams; the checksum verdict comes at the end, before the
  // held-back first MiB is written, so a bad download never leaves a bootable-looking drive.
  const size = format === 'raw' ? sourceSize : null;
  let inner: { reader: ChunkReader; finish(): Promise<void>; close(): Promise<void> };
  if (format === 'raw') {
    inner = { reader: new StreamChunkReader(rest), finish: async () => undefined, close: async () => void rest.destroy() };
  } else if (format === 'gz') {
    inner = gunzip(rest, name);
  } else if (await xzInProcess(format)) {
    inner = await wasmUnxz(rest, name);
  } else {
    inner = await hostDecompress(format, name, rest, signal);
  }
  return {
    ...base,
    size,
    reader: inner.reader,
    finish: async () => {
      // Every byte went through the decompressor (or the reader), so the hash now covers the file.
      await inner.finish();
      return { sha256: checkSum() };
    },
    close: () => inner.close(),
  };
}

export function openSource(src: FlashSource, signal?: AbortSignal, pinned?: PinnedFile): Promise<OpenedSource> {
  return src.kind === 'file' ? openFile(src.path, signal, pinned) : openUrl(src.url, src.sha256, signal);
}
