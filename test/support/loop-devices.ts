/**
 * Loop devices as fake drives for flashing tests (root only). Always `losetup -f --show`, and
 * `detachAll()` in afterAll, even when a test failed. NEXUS_EXTRA_DRIVES-style lists come from
 * `devices()` so the engine sees the loops through its documented test hook.
 */
import { execa } from 'execa';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Loop {
  device: string;
  backing: string;
}

export class LoopSet {
  readonly loops: Loop[] = [];
  private dir: string | null = null;

  /** `base`: where backing files go (default the OS temp dir; benches use tmpfs to keep disk noise out). */
  constructor(private readonly base = tmpdir()) {}

  async workDir(): Promise<string> {
    this.dir ??= await mkdtemp(join(this.base, 'nexus-flash-test-'));
    return this.dir;
  }

  /** A loop device over a fresh sparse file of `size` bytes (optionally read-only, optionally pre-filled). */
  async create(size: number, o: { readOnly?: boolean; fill?: Buffer } = {}): Promise<Loop> {
    const backing = join(await this.workDir(), `disk${this.loops.length}.img`);
    if (o.fill) await writeFile(backing, o.fill);
    await truncate(backing, size).catch(async () => writeFile(backing, Buffer.alloc(0)).then(() => truncate(backing, size)));
    const r = await execa('losetup', ['-f', '--show', ...(o.readOnly ? ['-r'] : []), backing]);
    const loop = { device: r.stdout.trim(), backing };
    this.loops.push(loop);
    return loop;
  }

  devices(): string[] {
    return this.loops.map((l) => l.device);
  }

  async detachAll(): Promise<void> {
    for (const l of this.loops.splice(0)) await execa('losetup', ['-d', l.device], { reject: false });
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/** Deterministic pseudo-random bytes (fast xorshift), so failures are reproducible. */
export function patternBytes(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  for (let i = size - (size % 4); i < size; i++) b[i] = i & 0xff;
  return b;
}
