/**
 * Page-aligned buffers for O_DIRECT.
 *
 * O_DIRECT needs the user buffer address (not only the file offset and length) aligned to the
 * device's logical block size, and Node's Buffers are not: Buffer.alloc() memory comes from malloc
 * and is 16-byte aligned at best (a loop device then fails the write with EINVAL). Node offers no
 * API to ask for an address, so instead of probing offsets we take memory that is page-aligned by
 * construction: a WebAssembly.Memory. V8 reserves every wasm memory with the platform page
 * allocator (mmap / VirtualAlloc), so its first byte sits on a page boundary (4096 or more),
 * and so does every multiple of 4096 inside it. We carve fixed-size slots at 4096-multiples.
 * The memory is outside the JS heap, zero-filled, and freed when the pool is garbage-collected.
 */
import { RangeHasher } from './range-hasher';

export const ALIGNMENT = 4096;
const WASM_PAGE = 65536;

export class AlignedPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(b: Buffer) => void> = [];
  readonly memory: WebAssembly.Memory;

  private rangeHasher: RangeHasher | null = null;

  constructor(
    readonly slotSize: number,
    readonly slots: number,
  ) {
    if (slotSize % ALIGNMENT !== 0) throw new Error(`slot size ${slotSize} is not a multiple of ${ALIGNMENT}`);
    const pages = Math.ceil((slotSize * slots) / WASM_PAGE);
    // shared: the buffer is a SharedArrayBuffer, so a hashing worker can read the slots in place.
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    for (let i = 0; i < slots; i++) this.free.push(Buffer.from(this.memory.buffer, i * slotSize, slotSize));
  }

  /** Resolves with a free slot (waits for a release when all are in use). */
  acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return Promise.resolve(b);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(b: Buffer): void {
    const w = this.waiters.shift();
    if (w) w(b);
    else this.free.push(b);
  }

  /** A worker that hashes bytes of this pool's slots in place (created on first use, kept with the recycled pool; unreferenced while idle). */
  hasher(): RangeHasher {
    this.rangeHasher ??= new RangeHasher(this.memory.buffer as unknown as SharedArrayBuffer);
    return this.rangeHasher;
  }

  async closeHasher(): Promise<void> {
    const h = this.rangeHasher;
    this.rangeHasher = null;
    await h?.close();
  }

  get allFree(): boolean {
    return this.free.length === this.slots;
  }
}

/*
 * Pools are recycled within a process: first-touch page faults cost ~20 µs per 4 KiB page on these
 * VMs (a fresh 16 MiB pool costs ~100 ms before the first byte moves), which a reused pool avoids.
 * At most two idle pools per shape are kept.
 */
const idle = new Map<string, AlignedPool[]>();

export function borrowPool(slotSize: number, slots: number): AlignedPool {
  return idle.get(`${slotSize}x${slots}`)?.pop() ?? new AlignedPool(slotSize, slots);
}

export function returnPool(pool: AlignedPool): void {
  if (!pool.allFree) return; // a slot is still in use somewhere: let the GC have it
  const key = `${pool.slotSize}x${pool.slots}`;
  const list = idle.get(key) ?? [];
  if (list.length < 2) list.push(pool);
  idle.set(key, list);
}

export const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;
