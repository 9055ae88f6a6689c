/**
 * Issue 17's "done when": `nexus build` run as a user runs it (the CLI in a child process) with PATH reduced to a
 * directory holding only `node`, so no mkfs, mtools, sfdisk, veritysetup, objcopy, xz or zstd can be found.
 * tinybox and cryptobox for qemu-x86_64 and tinybox's boot partitions for pc, rpi5 and visionfive2 must build;
 * the real tools (here, in the test process) then check what was written: `sfdisk --verify` on every table,
 * `fsck.vfat -n` on every FAT, `fsck.erofs` and `veritysetup verify` on the cryptobox root, `fsck.f2fs` on its
 * state partition. Each image is built twice, each time with an empty cache, and the two are bit-identical. The
 * node-only tinybox then boots in QEMU and a user logs in on its console.
 *
 * A build that still needs a host program fails with TOOL_MISSING; the assertion then names that program.
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTest } from '../../../src-main/engine/vm/boot-test';
import { whichTool } from '../../../src-main/engine/host-tools';
import { debianTestFeed, type TestFeed } from '../../support/debian-test-feed';
import { fsckF2fs } from '../../support/fsck-f2fs';
import { bootOutput, consoleSession, extractPartition, FEED_ARCH, readTable, TEST_LOGIN } from '../../support/image-build';
import { NEXUS_BIN } from '../../support/run-cli';

let dir: string;
let nodeOnlyPath: string;
const feeds: Record<string, TestFeed> = {};
const checkTools = ['unshare', 'sfdisk', 'fsck.vfat', 'fsck.erofs', 'fsck.f2fs', 'veritysetup', 'qemu-system-x86_64'];
const haveCheckTools = (await Promise.all(checkTools.map((t) => whichTool(t)))).every(Boolean);

interface NodeOnlyBuild {
  image: string;
  code: number;
  /** The host program the build asked for, when it failed with TOOL_MISSING. */
  missingTool: string | null;
  output: string;
}

/**
 * Runs `node ARGS` as a user without build tools would: PATH holds only node, and /usr/sbin (and /sbin, its
 * symlink on merged-/usr systems) is an empty tmpfs in a private mount namespace, because the engine's tool
 * lookup also tries the sbin directories that a user's PATH often lacks (host-tools.ts: whichTool).
 */
async function underNodeOnly(args: string[], env: Record<string, string>, timeout: number) {
  const unshare = (await whichTool('unshare'))!;
  const flag = process.getuid?.() === 0 ? '-m' : '-rm';
  return execa(unshare, [flag, '/bin/sh', '-c', '/bin/mount -t tmpfs -o ro,mode=0755 no-sbin /usr/sbin && exec "$@"', 'sh', process.execPath, ...args], {
    env: { ...env, PATH: nodeOnlyPath, NO_COLOR: '1' },
    extendEnv: true,
    reject: false,
    all: true,
    timeout,
  });
}

/** One `nexus build` with PATH = node only and its own empty cache. */
async function nodeOnlyBuild(name: string, profile: string, target: string): Promise<NodeOnlyBuild> {
  const arch = FEED_ARCH[target]!;
  const feed = (feeds[arch] ??= await debianTestFeed(arch));
  const image = join(dir, `${name}.img`);
  const r = await underNodeOnly(
    [
      NEXUS_BIN,
      'build',
      `--profile=${profile}`,
      `--target=${target}`,
      `--output=${image}`,
      `--mirror=${feed.mirror}`,
      `--keys=${feed.keysDir}`,
      `--user=${TEST_LOGIN.user}`,
      `--password-hash=${TEST_LOGIN.passwordHash}`,
      `--root-password-hash=${TEST_LOGIN.passwordHash}`,
      '--json',
    ],
    { NEXUS_CACHE_DIR: join(dir, `cache-${name}`) },
    900_000,
  );
  const output = String(r.all ?? '');
  // requireTool's message: "NAME" is not installed (quotes escaped in the --json error line).
  const missing = /TOOL_MISSING/.test(output) ? (/\\?"([\w.+-]+)\\?" is not installed/.exec(output)?.[1] ?? 'unknown (see the output)') : null;
  return { image, code: r.exitCode ?? -1, missingTool: missing, output };
}

function builtOk(b: NodeOnlyBuild): void {
  if (b.missingTool) expect.fail(`the node-only build still needs the host program "${b.missingTool}":\n${b.output.slice(-2000)}`);
  expect(b.code, b.output.slice(-3000)).toBe(0);
}

/** Partition entries for a message (GPT attributes are bigints). */
const entriesText = (entries: unknown) => JSON.stringify(entries, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function sfdiskVerify(image: string): Promise<void> {
  const r = await execa('sfdisk', ['--verify', image], { reject: false, all: true });
  expect(r.exitCode, `sfdisk --verify ${image}: ${r.all}`).toBe(0);
}

async function fsckVfat(part: string): Promise<void> {
  const r = await execa('fsck.vfat', ['-n', part], { reject: false, all: true });
  expect(r.exitCode, `fsck.vfat -n: ${r.all}`).toBe(0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-node-only-'));
  nodeOnlyPath = join(dir, 'bin');
  await mkdir(nodeOnlyPath);
  await symlink(process.execPath, join(nodeOnlyPath, 'node'));
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(!haveCheckTools)('nexus build with PATH = node only', () => {
  it('the reduced environment really has nothing but node: no tool on PATH, nothing in /usr/sbin or /sbin', async () => {
    const probe = `const fs = require('fs'); console.log(JSON.stringify([process.env.PATH, fs.readdirSync('/usr/sbin').length, fs.existsSync('/sbin/sfdisk'), fs.existsSync('/usr/sbin/mkfs.vfat')]))`;
    const r = await underNodeOnly(['-e', probe], {}, 60_000);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([nodeOnlyPath, 0, false, false]);
    const spawnTool = await underNodeOnly(['-e', 'require("child_process").execFileSync("sfdisk", ["-v"])'], {}, 60_000);
    expect(spawnTool.exitCode).not.toBe(0);
  });

  it('tinybox (qemu-x86_64): builds, sfdisk and fsck.vfat check it, a second cold build is bit-identical, and it boots to a console login', async () => {
    const a = await nodeOnlyBuild('tinybox-a', 'tinybox', 'qemu-x86_64');
    builtOk(a);
    await sfdiskVerify(a.image);
    const t = await readTable(a.image);
    const esp = t.entries[0]!;
    await fsckVfat(await extractPartition(a.image, esp, join(dir, 'tinybox-esp.vfat')));
    const b = await nodeOnlyBuild('tinybox-b', 'tinybox', 'qemu-x86_64');
    builtOk(b);
    expect(await sha256(b.image), 'two node-only builds of tinybox').toBe(await sha256(a.image));
    const boot = await bootTest(a.image, {
      arch: 'x86_64',
      timeoutSeconds: 400,
      session: consoleSession(['id', 'cat /etc/hostname', 'uname -m'], TEST_LOGIN.user, 120),
    });
    expect(boot.passed, `${boot.reason}; log ${boot.log}`).toBe(true);
    expect(bootOutput(boot, 'id').output).toMatch(new RegExp(`uid=\\d+\\(${TEST_LOGIN.user}\\)`));
    expect(bootOutput(boot, 'uname -m').output.trim()).toBe('x86_64');
  }, 1_800_000);

  it('cryptobox (qemu-x86_64): fsck.erofs, veritysetup verify, fsck.f2fs and fsck.vfat pass, and a second cold build is bit-identical', async () => {
    const a = await nodeOnlyBuild('cryptobox-a', 'cryptobox', 'qemu-x86_64');
    builtOk(a);
    await sfdiskVerify(a.image);
    const t = await readTable(a.image);
    const byName = (n: string) => t.entries.find((e) => e.name === n) ?? expect.fail(`no "${n}" partition in ${entriesText(t.entries)}`);
    const manifest = JSON.parse(await readFile(a.image.replace(/\.img$/, '.manifest.json'), 'utf8')) as { verity: { rootHash: string }; tools: object };
    expect(manifest.tools, 'no host tool output is in the image').toEqual({});
    const [esp, root, hash, state] = await Promise.all([
      extractPartition(a.image, t.entries[0]!, join(dir, 'crypto-esp.vfat')),
      extractPartition(a.image, byName('root'), join(dir, 'crypto-root.erofs')),
      extractPartition(a.image, byName('root-verity'), join(dir, 'crypto-root.verity')),
      extractPartition(a.image, byName('state'), join(dir, 'crypto-state.f2fs')),
    ]);
    await fsckVfat(esp);
    const erofs = await execa('fsck.erofs', [root], { reject: false, all: true });
    expect(erofs.exitCode, `fsck.erofs: ${erofs.all}`).toBe(0);
    const verity = await execa('veritysetup', ['verify', root, hash, manifest.verity.rootHash], { reject: false, all: true });
    expect(verity.exitCode, `veritysetup verify: ${verity.all}`).toBe(0);
    const f2fs = await fsckF2fs(state);
    expect(f2fs.ok, f2fs.output).toBe(true);
    const b = await nodeOnlyBuild('cryptobox-b', 'cryptobox', 'qemu-x86_64');
    builtOk(b);
    expect(await sha256(b.image), 'two node-only builds of cryptobox').toBe(await sha256(a.image));
  }, 1_800_000);

  for (const board of ['pc', 'rpi5', 'visionfive2']) {
    it(`tinybox on ${board}: the boot partitions check clean (sfdisk, fsck.vfat), and a second cold build is bit-identical`, async () => {
      const a = await nodeOnlyBuild(`${board}-a`, 'tinybox', board);
      builtOk(a);
      await sfdiskVerify(a.image);
      const t = await readTable(a.image);
      const fats = t.entries.filter((e) => /^(0c|0b|0e|C12A7328-F81F-11D2-BA4B-00A0C93EC93B|EBD0A0A2-B9E5-4433-87C0-68B6B72699C7)$/i.test(e.type));
      expect(fats.length, `FAT partitions in ${entriesText(t.entries)}`).toBeGreaterThan(0);
      for (const [i, e] of fats.entries()) await fsckVfat(await extractPartition(a.image, e, join(dir, `${board}-${i}.vfat`)));
      const b = await nodeOnlyBuild(`${board}-b`, 'tinybox', board);
      builtOk(b);
      expect(await sha256(b.image), `two node-only builds of tinybox on ${board}`).toBe(await sha256(a.image));
    }, 1_200_000);
  }
});
