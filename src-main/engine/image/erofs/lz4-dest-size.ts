/**
 * LZ4 block compression in "destSize" mode: compress as much of the input as fits in a fixed output size (an EROFS
 * physical cluster), and say how much input that was. The npm LZ4 libraries (lz4, lz4js, lz4-wasm, lz4-napi) only
 * compress a given input, so this is ours. Output is a standard LZ4 block (github.com/lz4/lz4 doc/lz4_Block_format.md)
 * that any LZ4 decoder (the kernel's LZ4_decompress_safe, erofs-utils) reads back to exactly `consumed` bytes.
 *
 * Matches come from hash chains over the whole file (positions before the block's start are never used: each
 * EROFS cluster is decoded on its own), searched up to `attempts` candidates deep, with one step of lazy matching —
 * close to what LZ4 HC gives at its middle levels.
 */

const MIN_MATCH = 4;
/** The last match starts at least 12 bytes before the block's end… */
const MF_LIMIT = 12;
/** …and the last 5 bytes are literals (the LZ4 block format's end-of-block rules). */
const LAST_LITERALS = 5;
const MAX_DISTANCE = 65535;
const HASH_LOG = 16;
const WINDOW_MASK = 0xffff;

export interface DestSizeResult {
  /** Input bytes the block decodes to. */
  consumed: number;
  /** The LZ4 block (a view into the compressor's scratch buffer: copy it before the next call). */
  block: Uint8Array;
}

/** Bytes the LZ4 length extension needs for a length field value `n` (literals, or match length − 4). */
const extraBytes = (n: number) => (n >= 15 ? 1 + Math.floor((n - 15) / 255) : 0);

export class Lz4DestSize {
  private readonly head = new Int32Array(1 << HASH_LOG).fill(-1);
  private readonly chain = new Int32Array(WINDOW_MASK + 1);
  /** Every position below this is in the hash chains (positions only ever go forward). */
  private inserted = 0;
  private readonly out: Uint8Array;

  constructor(
    private readonly src: Uint8Array,
    capacity: number,
    private readonly attempts = 64,
  ) {
    this.out = new Uint8Array(capacity);
  }

  private hash(p: number): number {
    const s = this.src;
    const v = s[p]! | (s[p + 1]! << 8) | (s[p + 2]! << 16) | (s[p + 3]! << 24);
    return Math.imul(v, 2654435761) >>> (32 - HASH_LOG);
  }

  private insertUpTo(p: number): void {
    const last = Math.min(p, this.src.length - MIN_MATCH + 1);
    for (let n = this.inserted; n < last; n++) {
      const h = this.hash(n);
      this.chain[n & WINDOW_MASK] = this.head[h]!;
      this.head[h] = n;
    }
    if (last > this.inserted) this.inserted = last;
  }

  /** Source of the last match `findMatch` found. */
  private matchRef = 0;

  /** Length of the longest match for `ip` with its source (→ matchRef) in [start, ip), bounded by `limit`; or 0. */
  private findMatch(ip: number, start: number, limit: number): number {
    this.insertUpTo(ip);
    const s = this.src;
    let best = 0;
    let bestRef = 0;
    let ref = this.head[this.hash(ip)]!;
    // A block that ended early (output full) leaves positions past the next block's start in the chains.
    while (ref >= ip) ref = this.chain[ref & WINDOW_MASK]!;
    for (let n = this.attempts; n > 0 && ref >= start && ip - ref <= MAX_DISTANCE; n--) {
      // Cheap reject: a longer match must agree at the byte that would make it longer.
      if (s[ref + best] === s[ip + best] && s[ref] === s[ip]) {
        let len = 0;
        while (ip + len < limit && s[ref + len] === s[ip + len]) len++;
        if (len > best) {
          best = len;
          bestRef = ref;
          if (ip + len >= limit) break;
        }
      }
      const prev = this.chain[ref & WINDOW_MASK]!;
      if (prev >= ref) break; // overwritten by a newer position: the chain ends here
      ref = prev;
    }
    this.matchRef = bestRef;
    return best >= MIN_MATCH ? best : 0;
  }

  /**
   * Compresses src[start, end) into at most `capacity` bytes (the constructor's), as far as it fits. Calls must go
   * forward through the source: each `start` at or after the previous call's start.
   */
  compress(start: number, end: number): DestSizeResult {
    const s = this.src;
    const out = this.out;
    const cap = out.length;
    let op = 0;
    let anchor = start;
    let ip = start;
    const matchLimit = end - LAST_LITERALS;
    const lastMatchStart = end - MF_LIMIT;

    const writeLength = (n: number) => {
      for (; n >= 255; n -= 255) out[op++] = 255;
      out[op++] = n;
    };

    while (ip <= lastMatchStart) {
      let len = this.findMatch(ip, start, matchLimit);
      let ref = this.matchRef;
      if (!len) {
        if (ip - anchor >= cap) break; // the pending literals alone fill the output
        ip++;
        continue;
      }
      // Lazy step: a longer match one byte later is worth a literal.
      if (ip + 1 <= lastMatchStart) {
        const len2 = this.findMatch(ip + 1, start, matchLimit);
        if (len2 > len + 1) {
          ip++;
          len = len2;
          ref = this.matchRef;
        }
      }
      // Extend backwards over literals that also match.
      while (ip > anchor && ref > start && s[ip - 1] === s[ref - 1]) {
        ip--;
        ref--;
        len++;
      }
      const lit = ip - anchor;
      // Keep room for a last literal run long enough for the end-of-block rules (token + MF_LIMIT bytes); a match
      // whose length field does not fit is cut to what does (long runs of one byte).
      const room = cap - op - (1 + extraBytes(lit) + lit + 2) - (1 + MF_LIMIT);
      if (room < 0) break;
      if (extraBytes(len - MIN_MATCH) > room) len = MIN_MATCH + (room === 0 ? 14 : 255 * room + 14);
      out[op++] = (Math.min(lit, 15) << 4) | Math.min(len - MIN_MATCH, 15);
      if (lit >= 15) writeLength(lit - 15);
      out.set(s.subarray(anchor, ip), op);
      op += lit;
      const offset = ip - ref;
      out[op++] = offset & 0xff;
      out[op++] = offset >> 8;
      if (len - MIN_MATCH >= 15) writeLength(len - MIN_MATCH - 15);
      ip += len;
      anchor = ip;
    }

    // The last literals: as many of the rest as fit.
    const room = cap - op;
    let run = Math.min(end - anchor, room - 1);
    while (run > 0 && 1 + extraBytes(run) + run > room) run--;
    out[op++] = Math.min(run, 15) << 4;
    if (run >= 15) writeLength(run - 15);
    out.set(s.subarray(anchor, anchor + run), op);
    op += run;
    return { consumed: anchor + run - start, block: out.subarray(0, op) };
  }
}

/** A plain LZ4 block decoder (for checks): decodes `block` into exactly `size` bytes or throws. */
export function lz4Decode(block: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let ip = 0;
  let op = 0;
  const readLength = (n: number) => {
    if (n !== 15) return n;
    for (;;) {
      const b = block[ip++];
      if (b === undefined) throw new Error('LZ4: truncated length');
      n += b;
      if (b !== 255) return n;
    }
  };
  for (;;) {
    const token = block[ip++];
    if (token === undefined) throw new Error('LZ4: truncated block');
    const lit = readLength(token >> 4);
    if (ip + lit > block.length || op + lit > size) throw new Error('LZ4: literals overrun');
    out.set(block.subarray(ip, ip + lit), op);
    ip += lit;
    op += lit;
    if (ip === block.length) break;
    const offset = block[ip]! | (block[ip + 1]! << 8);
    ip += 2;
    if (!offset || offset > op) throw new Error('LZ4: bad offset');
    const len = readLength(token & 15) + MIN_MATCH;
    if (op + len > size - LAST_LITERALS) throw new Error('LZ4: match runs into the last literals');
    for (let i = 0; i < len; i++, op++) out[op] = out[op - offset]!;
  }
  if (op !== size) throw new Error(`LZ4: decoded ${op} bytes, expected ${size}`);
  return out;
}
