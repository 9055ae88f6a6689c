/**
 * Helpers for image integration tests and the bench: plans for the catalog's Boxes built from the Debian-based
 * test feed, with a package/stage cache shared by all test files (under the test cache root), and tools to read
 * partitions of a finished image back.
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BuildOptions, BuildResult } from '../../src-main/engine/build-types';
import { loadCatalog } from '../../src-main/engine/catalog/load';
import { parsePartitionTable, type ParsedTable } from '../../src-main/engine/image/partition-table';
import { resolvePlan } from '../../src-main/engine/plan/resolve';
import type { CustomizationInput } from '../../src-shared/customization';
import type { PipelineEvent } from '../../src-shared/progress';
import { composePlanOf, type BuildPlan, type ComposePlan } from '../../src-shared/plan';
import type { BootTestResult } from '../../src-main/engine/vm/boot-test';
import type { ConsoleCommandResult } from '../../src-main/engine/vm/console-session';
import { debianTestFeed, testCacheRoot, type FeedArch, type TestFeed } from './debian-test-feed';

export const FEED_ARCH: Record<string, FeedArch> = {
  'qemu-x86_64': 'x86_64',
  pc: 'x86_64',
  'qemu-arm64': 'aarch64',
  rpi5: 'aarch64',
  'qemu-riscv64': 'riscv64',
  visionfive2: 'riscv64',
};

/**
 * A Nexus cache (packages, stage outputs) kept between runs under the test cache root, one per test file:
 * vitest runs files in parallel processes, and two processes fetching into one package cache at once race
 * on its partial files.
 */
export function sharedNexusCache(name: string): string {
  return join(testCacheRoot(), `nexus-cache-${name}`);
}

export async function planFor(profile: string, target: string, output: string, customization?: CustomizationInput, fragments?: string[]): Promise<ComposePlan> {
  // The input as the CLI and the app send it: defaults (the host name is the Box's) are the plan's to fill in.
  return composePlanOf(
    resolvePlan(await loadCatalog(), { profile, target, output, ...(customization ? { customization } : {}), ...(fragments ? { fragments } : {}) }),
  );
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
  const result = await buildImage(plan, {
    mirror: feed.mirror,
    keysDir: feed.keysDir,
    ...rest,
    onEvent: (e) => {
      events.push(e);
      opts.onEvent?.(e);
    },
  });
  const reused = events
    .filter((e) => e.type === 'log' && /: reused from cache$/.test(e.message))
    .map((e) => (e.type === 'log' ? e.message.split(':')[0]! : ''));
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
export function consoleSession(commands: string[], user: string = 'root', stepSeconds?: number) {
  return { login: { user, password: TEST_LOGIN.password }, commands, ...(stepSeconds ? { stepSeconds } : {}) };
}

/** What a user checks first on a booted Box: the mounts, the service manager's binary and its services. */
export const FIRST_COMMANDS = ['mount', 'ls /usr/sbin/dinit', 'dinitctl list', 'id'];

/** The output of a command run on the console by the boot test (throws when it was not run). */
export function commandOutput(build: TestBuild, command: string): { output: string; status: number } {
  const c = build.result.bootTest?.commands?.find((x) => x.command === command);
  if (!c) throw new Error(`"${command}" was not run on the console (boot test: ${build.result.bootTest?.reason ?? 'no session'})`);
  return c;
}

/** The output of a command run on the console by a direct bootTest() (throws, naming the log, when it was not run). */
export function bootOutput(r: BootTestResult, command: string): ConsoleCommandResult {
  const c = r.commands?.find((x) => x.command === command);
  if (!c) throw new Error(`"${command}" was not run on the console (boot: ${r.reason ?? 'passed'}; log ${r.log})`);
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

/**
 * The test user's SSH key pair (ed25519, made once with ssh-keygen and kept in the test cache, so the plan and
 * its stage caches stay the same between runs). The private key never goes into an image; only the .pub does.
 */
export async function testSshKey(): Promise<{ privateKeyPath: string; publicKey: string }> {
  const dirPath = join(testCacheRoot(), 'ssh-test-key');
  const key = join(dirPath, 'id_ed25519');
  if (!existsSync(`${key}.pub`)) {
    await mkdir(dirPath, { recursive: true, mode: 0o700 });
    const tmp = `${key}.${process.pid}`;
    await rm(tmp, { force: true });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nexus-test', '-f', tmp]);
    await rename(`${tmp}.pub`, `${key}.pub.new`);
    await rename(tmp, key);
    await rename(`${key}.pub.new`, `${key}.pub`);
  }
  return { privateKeyPath: key, publicKey: (await readFile(`${key}.pub`, 'utf8')).trim() };
}

/** A TCP port free on 127.0.0.1 right now (for QEMU's hostfwd). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs a command over SSH as a user would (OpenSSH client, key only, no password), retrying while the Box's SSH
 * server is not up yet (ssh exits 255 when it cannot connect or log in), until `seconds` pass.
 */
export async function sshRun(
  port: number,
  user: string,
  keyPath: string,
  command: string,
  seconds = 150,
  stop: () => boolean = () => false,
): Promise<{ stdout: string; stderr: string; exitCode: number; attempts: number }> {
  const deadline = Date.now() + seconds * 1000;
  for (let attempts = 1; ; attempts++) {
    const r = await execa(
      'ssh',
      [
        '-i',
        keyPath,
        '-p',
        String(port),
        '-o',
        'BatchMode=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'ConnectTimeout=20',
        '-o',
        'LogLevel=ERROR',
        `${user}@127.0.0.1`,
        command,
      ],
      { reject: false, timeout: 90_000 },
    );
    if (r.exitCode !== 255 || Date.now() > deadline || stop()) return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1, attempts };
    await new Promise((res) => setTimeout(res, 3000));
  }
}

/** A console command that waits (up to `seconds`) until `path` exists in the guest, e.g. a file an SSH command makes. */
export function waitForFile(path: string, seconds = 240): string {
  return `i=0; until [ -e ${path} ] || [ $i -ge ${seconds} ]; do sleep 1; i=$((i+1)); done; cat ${path}`;
}

/** A mesh peer as a user would describe it (its public key is 32 fixed bytes: the test has no peer to talk to). */
export const TEST_MESH = {
  address: '10.77.0.2/24',
  peers: [
    {
      publicKey: 'cKHVgYAxc37yQJPWOEjeUJ3PLMraTYUJP7hsqviHDnA=',
      endpoint: '192.0.2.10:51820',
      allowedIps: ['10.77.0.1/32', '10.88.0.0/16'],
      persistentKeepalive: 25,
    },
  ],
} as const;

export type SshResult = Awaited<ReturnType<typeof sshRun>>;
/** Made by the SSH command in the guest; the console session's last command waits for it, keeping the VM up. */
export const SSH_DONE = '/tmp/nexus-ssh-done';

/**
 * One boot, two ways in: QEMU forwards a free host port to the guest's port 22 while the console session logs in
 * and runs `commands`, and meanwhile the host's OpenSSH client logs in as `user` with the test key and runs
 * `sshCommand`. The console's last command waits until the SSH command has left SSH_DONE behind, so QEMU is
 * not stopped before the SSH login happened.
 */
export async function bootWithSsh(
  image: string,
  o: {
    arch: 'x86_64' | 'arm64' | 'riscv64';
    logPath: string;
    commands: string[];
    user: string;
    sshCommand: string;
    timeoutSeconds?: number;
    writable?: boolean;
  },
): Promise<{ boot: BootTestResult; ssh: SshResult }> {
  const { bootTest } = await import('../../src-main/engine/vm/boot-test');
  const key = await testSshKey();
  const port = await freePort();
  const booting = bootTest(image, {
    arch: o.arch,
    timeoutSeconds: o.timeoutSeconds ?? 420,
    logPath: o.logPath,
    forwardPorts: [{ host: port, guest: 22 }],
    ...(o.writable ? { writable: true } : {}),
    session: consoleSession([...o.commands, waitForFile(SSH_DONE, 300)], 'root', 320),
  });
  let finished = false;
  void booting.finally(() => {
    finished = true;
  });
  // Keep trying while the VM runs; a boot that already ended leaves nothing to connect to.
  const ssh = await sshRun(port, o.user, key.privateKeyPath, `${o.sshCommand}; touch ${SSH_DONE}`, 300, () => finished);
  if (finished && ssh.exitCode === 255) ssh.stderr += ' (the VM had stopped)';
  return { boot: await booting, ssh };
}
