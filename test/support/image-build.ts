/**
 * Helpers for image integration tests and the bench: plans for the catalog's Boxes built from the Debian-based
 * test feed, with a package/stage cache shared by all test files (under the test cache root), and tools to read
 * partitions of a finished image back.
 */
import { execa } from 'execa';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildOptions, BuildResult } from '../../src-main/engine/build-types';
import { loadCatalog } from '../../src-main/engine/catalog/load';
import { parsePartitionTable, type ParsedTable } from '../../src-main/engine/image/partition-table';
import { resolvePlan } from '../../src-main/engine/plan/resolve';
import type { CustomizationInput } from '../../src-shared/customization';
import type { PipelineEvent } from '../../src-shared/progress';
import type { BuildPlan } from '../../src-shared/plan';
import { debianTestFeed, testCacheRoot, type FeedArch, type TestFeed } from './debian-test-feed';

export const FEED_ARCH: Record<string, FeedArch> = { 'qemu-x86_64': 'x86_64', pc: 'x86_64', 'qemu-arm64': 'aarch64', rpi5: 'aarch64', 'qemu-riscv64': 'riscv64', visionfive2: 'riscv64' };

/**
 * A Nexus cache (packages, stage outputs) kept between runs under the test cache root, one per test file:
 * vitest runs files in parallel processes, and two processes fetching into one package cache at once race
 * on its partial files.
 */
export function sharedNexusCache(name: string): string {
  return join(testCacheRoot(), `nexus-cache-${name}`);
}

export async function planFor(profile: string, target: string, output: string, customization?: CustomizationInput): Promise<BuildPlan> {
  // The input as the CLI and the app send it: defaults (the host name is the Box's) are the plan's to fill in.
  return resolvePlan(await loadCatalog(), { profile, target, output, ...(customization ? { customization } : {}) });
}

export interface TestBuild {
  result: BuildResult;
  events: PipelineEvent[];
  /** Stage caches that were reused ("initramfs", "uki", …). */
  reused: string[];
}

/** Runs the real buildImage against the test feed. */
export async function buildFromTestFeed(plan: BuildPlan, opts: BuildOptions & { feed?: TestFeed } = {}): Promise<TestBuild> {
  const feed = opts.feed ?? (await debianTestFeed(FEED_ARCH[plan.board.name]!));
  const { buildImage } = await import('../../src-main/engine/build');
  const events: PipelineEvent[] = [];
  const { feed: _f, ...rest } = opts;
  const result = await buildImage(plan, { mirror: feed.mirror, keysDir: feed.keysDir, ...rest, onEvent: (e) => { events.push(e); opts.onEvent?.(e); } });
  const reused = events.filter((e) => e.type === 'log' && /: reused from cache$/.test(e.message)).map((e) => (e.type === 'log' ? e.message.split(':')[0]! : ''));
  return { result, events, reused };
}

/**
 * A user as a person would create one (a SHA-512 crypt hash, as `openssl passwd -6` or the app makes), and what
 * they do first on the console: log in and look around. The salt is fixed so the plan (and every stage cache)
 * stays the same between runs.
 */
export const TEST_LOGIN = {
  user: 'ada',
  password: 'nexus-test-password',
  passwordHash: '$6$nexustestsalt$NQ5TG78BrxYhodQCV2EdFN887qXbXXbtKTJu77.aTEAl5BjIXV57zECHWqKdrd36HZT2V5U5uCPb6ryH23smc0',
} as const;

/** A user account, and root unlocked with the same password (a rescue system's administrator logs in as root). */
export const TEST_USER = { user: { name: TEST_LOGIN.user, passwordHash: TEST_LOGIN.passwordHash }, rootPasswordHash: TEST_LOGIN.passwordHash };

/** Log in (as root by default: dinitctl talks to the system instance) and run these commands after the boot marker. */
export function consoleSession(commands: string[], user: string = 'root') {
  return { login: { user, password: TEST_LOGIN.password }, commands };
}

/** What a user checks first on a booted Box: the mounts, the service manager's binary and its services. */
export const FIRST_COMMANDS = ['mount', 'ls /usr/sbin/dinit', 'dinitctl list', 'id'];

/** The output of a command run on the console by the boot test (throws when it was not run). */
export function commandOutput(build: TestBuild, command: string): { output: string; status: number } {
  const c = build.result.bootTest?.commands?.find((x) => x.command === command);
  if (!c) throw new Error(`"${command}" was not run on the console (boot test: ${build.result.bootTest?.reason ?? 'no session'})`);
  return c;
}

export async function readTable(image: string): Promise<ParsedTable> {
  const fh = await open(image, 'r');
  try {
    const b = Buffer.alloc(34 * 512);
    await fh.read(b, 0, b.length, 0);
    return parsePartitionTable(b);
  } finally {
    await fh.close();
  }
}

/** Copies one partition out of an image into its own file (for fsck, veritysetup, mtools). */
export async function extractPartition(image: string, entry: { startLba: number; sizeLba: number }, out: string): Promise<string> {
  await execa('dd', [`if=${image}`, `of=${out}`, 'bs=512', `skip=${entry.startLba}`, `count=${entry.sizeLba}`, 'conv=sparse', 'status=none']);
  return out;
}

export async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}
