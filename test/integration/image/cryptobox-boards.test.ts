/**
 * cryptobox on qemu-arm64 (AAVMF UEFI, systemd-boot) and qemu-riscv64 (OpenSBI, U-Boot, extlinux), from the test
 * feed: the initramfs opens the EROFS root through dm-verity with that architecture's veritysetup (the feed's
 * cryptsetup payload is Debian trixie's glibc build for the arch, see test/support/debian-test-feed.ts), then a user
 * logs in on the serial console and looks around: `/` is the overlay over the verity-checked EROFS lower dir, the
 * F2FS state partition is mounted, and the real dinit runs the Box's services.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestBuild } from '../../support/image-build';
import {
  buildFromTestFeed,
  commandOutput,
  consoleSession,
  extractPartition,
  FIRST_COMMANDS,
  planFor,
  readJson,
  readTable,
  sharedNexusCache,
  TEST_USER,
} from '../../support/image-build';

let dir: string;
const STATE = '/var/lib/nexus/state';
/** The vault, made on this first boot by this architecture's cryptsetup and mkfs.f2fs (no extra boot: same session). */
const VAULT_COMMANDS = ['mount | grep " /vault "', `cat ${STATE}/vault/vault.log`, 'echo in-the-vault > /vault/x && cat /vault/x'];
/** ELF e_machine and the glibc loader (PT_INTERP) of each board's architecture. */
const ARCH = {
  'qemu-arm64': { machine: 183, loader: 'lib/ld-linux-aarch64.so.1', triplet: 'aarch64-linux-gnu' },
  'qemu-riscv64': { machine: 243, loader: 'lib/ld-linux-riscv64-lp64d.so.1', triplet: 'riscv64-linux-gnu' },
} as const;

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('cryptobox-boards');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-cryptobox-boards-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.each(Object.keys(ARCH) as Array<keyof typeof ARCH>)('cryptobox on %s', (board) => {
  let build: TestBuild;
  let log = '';
  const image = () => join(dir, board, 'cryptobox.img');

  beforeAll(async () => {
    const started = Date.now();
    build = await buildFromTestFeed(await planFor('cryptobox', board, image(), TEST_USER), {
      bootTest: true,
      bootTestSession: consoleSession([...FIRST_COMMANDS, ...VAULT_COMMANDS]),
    });
    log = await readFile(join(dir, board, 'cryptobox.console.log'), 'utf8').catch(() => '');
    console.log(
      `cryptobox ${board}: build + boot ${((Date.now() - started) / 1000).toFixed(1)} s, boot test ${build.result.bootTest?.seconds} s, ${build.result.packageCount} packages`,
    );
  }, 300_000);

  it('boots through the verity root to the marker and the login prompt', async () => {
    expect(build.result.bootTest?.reason, log.slice(-3000)).toBeUndefined();
    expect(build.result.bootTest?.passed).toBe(true);
    expect(log).toMatch(new RegExp(`NEXUS-BOOT-OK box=cryptobox board=${board}`));
    expect(log).toMatch(/cryptobox login: /);
    expect(log).not.toMatch(/NEXUS-BOOT-FAILED/);
    expect(log, stateWhy(log)).not.toMatch(/nexus: state partition not mounted/);
    const m = await readJson<{ verity: { rootHash: string }; boot: { kernelCmdline: string } }>(join(dir, board, 'cryptobox.manifest.json'));
    expect(m.boot.kernelCmdline).toContain(`nexus.verity=${m.verity.rootHash}`);
  });

  it('mounts / as an overlay over the EROFS lower dir on /dev/mapper/nexus-root, and the F2FS state partition', () => {
    const mount = commandOutput(build, 'mount');
    expect(mount.status).toBe(0);
    expect(mount.output).toMatch(/^overlay on \/ type overlay \(.*lowerdir=\/run\/nexus\/lower.*\)$/m);
    expect(mount.output).toMatch(/^\/dev\/mapper\/nexus-root on \/run\/nexus\/lower type erofs \(ro[,)]/m);
    expect(mount.output, stateWhy(log)).toMatch(new RegExp(`^/dev/\\S+ on ${STATE} type f2fs \\(`, 'm'));
  });

  it('creates the vault unattended on the first boot (LUKS2 with a random key file, F2FS inside) and mounts it on /vault', () => {
    expect(commandOutput(build, VAULT_COMMANDS[0]!).output).toMatch(/^\/dev\/mapper\/vault on \/vault type f2fs \(rw/m);
    expect(commandOutput(build, VAULT_COMMANDS[1]!).output).toMatch(
      /first boot: creating the vault[\s\S]*created [\s\S]*mounted \/dev\/mapper\/vault on \/vault$/,
    );
    expect(commandOutput(build, VAULT_COMMANDS[2]!)).toMatchObject({ output: 'in-the-vault', status: 0 });
  });

  it("runs the real dinit (Alpine's path) with nexus-ready and getty-serial started; the user is root on the console", () => {
    expect(commandOutput(build, 'ls /usr/sbin/dinit')).toMatchObject({ output: '/usr/sbin/dinit', status: 0 });
    const list = commandOutput(build, 'dinitctl list');
    expect(list.status).toBe(0);
    expect(list.output).toMatch(/^\[\[\+\]\s*\] boot$/m);
    expect(list.output).toMatch(/^\[\{\+\}\s*\] nexus-ready$/m);
    expect(list.output).toMatch(/^\[\{\+\}\s*\] getty-serial \(pid: \d+\)$/m);
    expect(commandOutput(build, 'id').output).toMatch(/^uid=0\(root\) gid=0\(root\)/);
  });

  let unpacked: Promise<string[]> | undefined;
  const initramfs = () => (unpacked ??= initramfsFiles(image(), join(dir, board, 'initrd')));

  it("has this architecture's veritysetup with its glibc loader and libraries in the initramfs (read from its own ELF headers)", async () => {
    const files = await initramfs();
    const a = ARCH[board];
    expect(files).toEqual(expect.arrayContaining([a.loader, `usr/lib/${a.triplet}/libc.so.6`, `usr/lib/${a.triplet}/libcryptsetup.so.12`]));
    const verity = files.find((f) => /(^|\/)sbin\/veritysetup$/.test(f))!;
    expect((await readFile(join(dir, board, 'initrd', 'x', verity))).readUInt16LE(18)).toBe(a.machine);
  });

  it('loads the crypto crc32 driver before f2fs in the initramfs (F2FS asks for "crc32" when it mounts; there is no modprobe)', async () => {
    await initramfs();
    const order = (await readFile(join(dir, board, 'initrd', 'x', 'lib/modules/nexus-load-order'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((m) => m.replace(/^.*\//, ''));
    const at = (m: string) => order.findIndex((f) => f.startsWith(`${m}.ko`));
    expect(at('crc32_generic'), `${CRC32_WHY}\nload order: ${order.join(' ')}`).toBeGreaterThanOrEqual(0);
    expect(at('crc32_generic')).toBeLessThan(at('f2fs'));
  });
});

const CRC32_WHY =
  'crc32_generic is not loaded before f2fs in the initramfs. f2fs.ko says "softdep=pre: crc32", and "crc32" is both ' +
  'the built-in lib/crc32 (modules.builtin: kernel/lib/crc32.ko, CONFIG_CRC32=y) and an alias of crc32_generic (the crypto ' +
  "driver F2FS allocates, CONFIG_CRYPTO_CRC32=m in Debian's arm64/riscv64 kernels). selectModules " +
  '(src-main/engine/image/kernel-modules.ts, resolveSoft) must look a name up as kmod does: a module, then an alias (from ' +
  "the modules' .modinfo when the kernel ships no modules.alias), and only then a built-in.";

/** Why the state partition was not mounted, from the console log. */
function stateWhy(log: string): string {
  if (/F2FS-fs \(\S+\): Cannot load crc32 driver/.test(log)) return `F2FS: "Cannot load crc32 driver". ${CRC32_WHY}`;
  return `the state partition is not mounted; console: ${log
    .split('\n')
    .filter((l) => /f2fs|state/i.test(l))
    .join(' | ')}`;
}

/** Unpacks the image's initramfs (from the boot FAT partition) into `out`/x and lists its paths. */
async function initramfsFiles(img: string, out: string): Promise<string[]> {
  const t = await readTable(img);
  const fat = t.entries.find((e) => e.name === 'ESP' || e.name === 'BOOT') ?? t.entries[0]!;
  const part = await extractPartition(img, fat, `${out}.fat`);
  const MT = { env: { MTOOLS_SKIP_CHECK: '1' } };
  const listing = (await execa('mdir', ['-/', '-b', '-i', part, '::/'], MT)).stdout.split('\n').map((l) => l.trim());
  const name = listing.find((l) => /initr/i.test(l.replace(/^.*\//, '')));
  if (!name) throw new Error(`no initramfs on the boot partition: ${listing.join(' ')}`);
  await execa('mcopy', ['-i', part, name, `${out}.gz`], MT);
  await execa('mkdir', ['-p', join(out, 'x')]);
  await execa('sh', ['-c', `gzip -dc '${out}.gz' | (cd '${join(out, 'x')}' && cpio -id --quiet)`]);
  const { stdout } = await execa('sh', ['-c', `gzip -dc '${out}.gz' | cpio -t --quiet`]);
  return stdout.split('\n').map((l) => l.replace(/^\.\//, ''));
}
