/**
 * tinybox for qemu-x86_64 from the test feed, end to end: build with the `ssh` fragment and the test user's key,
 * boot to the marker in QEMU (OVMF + UKI, TCG, user network with port 22 forwarded), log in on the serial console
 * (password) and over SSH (key, the host's OpenSSH client) in the same boot, partition table, FAT check, bmap
 * round trip with bmaptool, checksum/manifest/SBOM sidecars, and a hostname-only rebuild of the bare Box.
 * The test feed's toybox and dinit are STAND-INS (see test/support/debian-test-feed.ts).
 */
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BootTestResult } from '../../../src-main/engine/vm/boot-test';
import type { SshResult, TestBuild } from '../../support/image-build';
import { debianTestFeed, type TestFeed } from '../../support/debian-test-feed';
import {
  bootOutput,
  bootWithSsh,
  buildFromTestFeed,
  extractPartition,
  FIRST_COMMANDS,
  planFor,
  readJson,
  readTable,
  sharedNexusCache,
  TEST_LOGIN,
  TEST_USER,
  testSshKey,
} from '../../support/image-build';
import { nexus } from '../../support/run-cli';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { resolvePlan } from '../../../src-main/engine/plan/resolve';

let dir: string;
let build: TestBuild;
let boot: BootTestResult;
let ssh: SshResult;
let feed: TestFeed;
const image = () => join(dir, 'tinybox.img');
/** What the user runs over SSH: who and where they are, and that the server is the image's Dropbear. */
const SSH_COMMAND = 'id; hostname; cat ~/.ssh/authorized_keys | cut -d" " -f1; ps | grep -c "[d]ropbear"; /sbin/ip addr show eth0 | grep "inet "';
/** The getty does not wait for the network services (they start after the marker): wait until everything is up. */
const WAIT_BOOTED = "i=0; until dinitctl list | grep -q '^\\[\\[+\\]' || [ $i -ge 90 ]; do sleep 1; i=$((i+1)); done; sleep 2; dinitctl list | grep ' boot$'";

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('tinybox-x86');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-tinybox-'));
  const key = await testSshKey();
  // One feed for every build here: the base feed plus the ssh pack (a plan without ssh resolves as on the base feed).
  feed = await debianTestFeed('x86_64', { packs: ['ssh'] });
  build = await buildFromTestFeed(await planFor('tinybox', 'qemu-x86_64', image(), { ...TEST_USER, sshKeys: [key.publicKey] }, ['ssh']), { feed });
  ({ boot, ssh } = await bootWithSsh(image(), {
    arch: 'x86_64',
    logPath: join(dir, 'tinybox.console.log'),
    commands: [WAIT_BOOTED, ...FIRST_COMMANDS],
    user: TEST_LOGIN.user,
    sshCommand: SSH_COMMAND,
  }));
  console.log(`tinybox: boot ${boot.seconds.toFixed(1)} s; ssh after ${ssh.attempts} attempt(s)`);
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('tinybox on qemu-x86_64', () => {
  it('boots in QEMU to the marker printed by the service manager', async () => {
    expect(boot.passed, boot.reason).toBe(true);
    const log = await readFile(join(dir, 'tinybox.console.log'), 'utf8');
    expect(log).toMatch(/NEXUS-BOOT-OK box=tinybox board=qemu-x86_64 host=tinybox/);
    expect(log).toMatch(/tinybox login: /);
    expect(build.result.files.map((f) => f.kind).sort()).toEqual(['bmap', 'checksum', 'image', 'lock', 'manifest', 'sbom']);
    // The ssh fragment and the base fragment it requires add Alpine's dropbear (+ utmps-libs, skalibs-libs, zlib),
    // dhcpcd (+ busybox-binsh for its /bin/sh) and ca-certificates-bundle to the bare Box's 7 (checked below).
    expect(build.result.packageCount).toBe(7 + 7);
    expect(build.result.warnings.filter((w) => /kernel modules not in/.test(w))).toEqual([]);
  });

  it('lets the user log in over SSH with their key (Dropbear from the ssh fragment, QEMU user network, port forward)', () => {
    expect(ssh.exitCode, `${ssh.stderr}\n${ssh.stdout}`).toBe(0);
    const [id, host, keyType, servers, inet] = ssh.stdout.trim().split('\n');
    expect(id).toMatch(/^uid=1000\(ada\) gid=1000\(ada\)/);
    expect(host).toBe('tinybox');
    expect(keyType).toBe('ssh-ed25519');
    expect(Number(servers)).toBeGreaterThan(0);
    // The address the Box got from QEMU's DHCP server (dhcpcd from the base fragment).
    expect(inet ?? '', ssh.stdout).toMatch(/inet 10\.0\.2\.15\/24/);
    expect(bootOutput(boot, 'dinitctl list').output).toMatch(/^\[\{\+\}\s*\] dropbear \(pid: \d+\)$/m);
  });

  it("lets a user log in on the serial console; the real dinit (Alpine's path) runs the Box's services; BusyBox gives the tools", () => {
    const commandOutput = (_: unknown, command: string) => bootOutput(boot, command);
    const mount = commandOutput(build, 'mount');
    expect(mount.status).toBe(0);
    expect(mount.output).toMatch(/^proc on \/proc type proc/m);
    expect(mount.output).toMatch(/^devtmpfs on \/dev type devtmpfs/m);
    expect(commandOutput(build, 'ls /usr/sbin/dinit')).toMatchObject({ output: '/usr/sbin/dinit', status: 0 });
    const list = commandOutput(build, 'dinitctl list');
    expect(list.status).toBe(0);
    // dinitctl's real listing: "[[+]     ] boot" (started, explicitly activated), "[{+}     ] getty-serial (pid: N)".
    expect(list.output).toMatch(/^\[\[\+\]\s*\] boot$/m);
    expect(list.output).toMatch(/^\[\{\+\}\s*\] getty-serial \(pid: \d+\)$/m);
    expect(list.output).toMatch(/^\[\{\+\}\s*\] nexus-ready$/m);
    expect(commandOutput(build, 'id').output).toMatch(/^uid=0\(root\) gid=0\(root\)/);
  });

  it('has a GPT with the ESP holding a UKI, and a clean FAT', async () => {
    const t = await readTable(image());
    expect(t.kind).toBe('gpt');
    expect(t.entries).toHaveLength(1);
    expect(t.entries[0]).toMatchObject({ type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', name: 'ESP', startLba: 2048 });
    const { stdout: v } = await execa('sgdisk', ['-v', image()]);
    expect(v).toMatch(/No problems found/);
    const esp = await extractPartition(image(), t.entries[0]!, join(dir, 'esp.img'));
    await execa('fsck.vfat', ['-n', esp]);
    const { stdout } = await execa('mdir', ['-b', '-i', esp, '::/EFI/BOOT'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(stdout).toMatch(/BOOTX64\.EFI/);
    await execa('mcopy', ['-i', esp, '::/EFI/BOOT/BOOTX64.EFI', join(dir, 'uki.efi')], { env: { MTOOLS_SKIP_CHECK: '1' } });
    const { stdout: sections } = await execa('objdump', ['-h', join(dir, 'uki.efi')]);
    for (const s of ['.osrel', '.cmdline', '.linux', '.initrd']) expect(sections).toContain(s);
  });

  it('writes a bmap that bmaptool copy accepts, giving back the same bytes; checksum and manifest agree', async () => {
    const copy = join(dir, 'copy.img');
    await execa('bmaptool', ['copy', '--bmap', join(dir, 'tinybox.bmap'), image(), copy]);
    const [a, b] = await Promise.all([readFile(image()), readFile(copy)]);
    expect(a.equals(b)).toBe(true);
    const sha = createHash('sha256').update(a).digest('hex');
    expect(await readFile(join(dir, 'tinybox.img.sha256'), 'utf8')).toBe(`${sha}  tinybox.img\n`);
    const m = await readJson<{ image: { sha256: string; mappedBytes: number }; partitionTable: { type: string }; lock: { packages: unknown[] } }>(
      join(dir, 'tinybox.manifest.json'),
    );
    expect(m.image.sha256).toBe(sha);
    expect(m.partitionTable.type).toBe('gpt');
    expect(m.image.mappedBytes).toBeLessThan(a.length / 2);
    const sbom = await readJson<{ spdxVersion: string; packages: Array<{ name: string }> }>(join(dir, 'tinybox.spdx.json'));
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    expect(sbom.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['busybox', 'musl', 'dinit', 'libstdc++', 'linux-virt', 'systemd-efistub']));
    expect(existsSync(join(dir, '.tinybox.img.partial'))).toBe(false);
  });

  it('rebuilds a hostname-only change with the new hostname inside', async () => {
    const out = join(dir, 'renamed.img');
    const hostname = `renamed-${Date.now().toString(36)}`; // new each run: the stage cache outlives the test
    const again = await buildFromTestFeed(await planFor('tinybox', 'qemu-x86_64', out, { hostname }), { feed });
    expect(again.result.sha256).not.toBe(build.result.sha256);
    // The bare Box: Alpine's closure, within tinybox's package budget (the kernel's initramfs-generator is the
    // builder's job). The size budget is not checked here: the kernel and libstdc++ are stand-ins of other sizes.
    expect(again.result.packageCount).toBe(7);
    expect(again.result.warnings.filter((w) => /packages, over its budget/.test(w))).toEqual([]);
    const t = await readTable(out);
    const esp = await extractPartition(out, t.entries[0]!, join(dir, 'esp2.img'));
    await execa('mcopy', ['-i', esp, '::/EFI/BOOT/BOOTX64.EFI', join(dir, 'uki2.efi')], { env: { MTOOLS_SKIP_CHECK: '1' } });
    await execa('objcopy', ['-O', 'binary', '--only-section=.initrd', join(dir, 'uki2.efi'), join(dir, 'initrd.gz')]);
    const { stdout } = await execa('sh', ['-c', `gzip -dc '${join(dir, 'initrd.gz')}' | cpio -i --to-stdout etc/hostname 2>/dev/null`]);
    expect(stdout).toBe(hostname);
  });

  it('the toybox fragment pins toybox to edge/testing (tagged in the lock) and installs it next to BusyBox', async () => {
    const out = join(dir, 'toybox', 'tinybox.img');
    const plan = resolvePlan(await loadCatalog(), { profile: 'tinybox', target: 'qemu-x86_64', output: out, fragments: ['toybox'] });
    expect(plan.packages.map((p) => p.name)).toContain('toybox@testing');
    const b = await buildFromTestFeed(plan, { feed });
    expect(b.result.packageCount).toBe(7 + 1);
    const lock = await readJson<{ feed: { tagged: unknown[] }; packages: Array<{ name: string; repository: string; tag?: string }> }>(
      join(dir, 'toybox', 'tinybox.packages.lock.json'),
    );
    expect(lock.feed.tagged).toEqual([{ tag: 'testing', branch: 'edge', repository: 'testing' }]);
    expect(lock.packages.find((p) => p.name === 'toybox')).toMatchObject({ repository: 'testing', tag: 'testing' });
    expect(lock.packages.filter((p) => p.tag).map((p) => p.name)).toEqual(['toybox']);
    const t = await readTable(out);
    const esp = await extractPartition(out, t.entries[0]!, join(dir, 'toybox', 'esp.img'));
    await execa('mcopy', ['-i', esp, '::/EFI/BOOT/BOOTX64.EFI', join(dir, 'toybox', 'uki.efi')], { env: { MTOOLS_SKIP_CHECK: '1' } });
    await execa('objcopy', ['-O', 'binary', '--only-section=.initrd', join(dir, 'toybox', 'uki.efi'), join(dir, 'toybox', 'initrd.gz')]);
    const { stdout } = await execa('sh', ['-c', `gzip -dc '${join(dir, 'toybox', 'initrd.gz')}' | cpio -t 2>/dev/null`]);
    expect(stdout.split('\n')).toEqual(expect.arrayContaining(['bin/toybox', 'bin/busybox', 'bin/sh']));
  });

  it('a Wi-Fi passphrase goes into the image only: never into manifest.json; no Wi-Fi service is warned about', async () => {
    const out = join(dir, 'wifi', 'tinybox.img');
    const secret = `not-in-the-manifest-${Date.now().toString(36)}`;
    const b = await buildFromTestFeed(await planFor('tinybox', 'qemu-x86_64', out, { wifi: { ssid: 'home', passphrase: secret, country: 'DE' } }), { feed });
    expect(b.result.warnings.join('\n')).toMatch(/no Wi-Fi service: add the "wifi" fragment/);
    const manifest = await readFile(join(dir, 'wifi', 'tinybox.manifest.json'), 'utf8');
    expect(manifest).not.toContain(secret);
    expect(manifest).toContain('"passphrase": "(redacted)"');
    // ...while the image's root-only iwd file has it (in the initramfs inside the UKI).
    const t = await readTable(out);
    const esp = await extractPartition(out, t.entries[0]!, join(dir, 'wifi', 'esp.img'));
    await execa('mcopy', ['-i', esp, '::/EFI/BOOT/BOOTX64.EFI', join(dir, 'wifi', 'uki.efi')], { env: { MTOOLS_SKIP_CHECK: '1' } });
    await execa('objcopy', ['-O', 'binary', '--only-section=.initrd', join(dir, 'wifi', 'uki.efi'), join(dir, 'wifi', 'initrd.gz')]);
    const { stdout } = await execa('sh', ['-c', `gzip -dc '${join(dir, 'wifi', 'initrd.gz')}' | cpio -i --to-stdout var/lib/iwd/home.psk 2>/dev/null`]);
    expect(stdout).toContain(`Passphrase=${secret}`);
  });

  it('works from the command line: nexus build --profile=tinybox --target=qemu-x86_64 --boot-test (NDJSON progress, boot marker)', async () => {
    const out = join(dir, 'cli', 'tinybox.img');
    const r = await nexus(
      ['build', '--profile=tinybox', '--target=qemu-x86_64', '--boot-test', `--mirror=${feed.mirror}`, `--keys=${feed.keysDir}`, `--output=${out}`, '--json'],
      { env: { NEXUS_CACHE_DIR: process.env.NEXUS_CACHE_DIR! }, timeout: 240_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const final = lines.at(-1) as { ok: boolean; value: { image: string; bootTest: { passed: boolean } } };
    expect(final).toMatchObject({ ok: true, value: { image: out, bootTest: { passed: true } } });
    const stages = new Set(lines.flatMap((l) => (l.type === 'progress' && typeof l.stage === 'string' ? [l.stage] : [])));
    expect([...stages]).toEqual(expect.arrayContaining(['boot-test']));
    expect(await readFile(join(dir, 'cli', 'tinybox.console.log'), 'utf8')).toMatch(/NEXUS-BOOT-OK box=tinybox board=qemu-x86_64/);
  }, 300_000);

  it('rescue stick offline: cache export → import on a machine without a mirror → the same image, bit for bit', async () => {
    const bundle = join(dir, 'offline', 'nexus-cache.tar');
    const fresh = join(dir, 'offline', 'cache');
    await mkdir(join(dir, 'offline'), { recursive: true });
    const ex = await nexus(['cache', 'export', bundle, `--keys=${feed.keysDir}`], { env: { NEXUS_CACHE_DIR: process.env.NEXUS_CACHE_DIR! } });
    expect(ex.code, ex.stderr).toBe(0);
    const im = await nexus(['cache', 'import', bundle, `--keys=${feed.keysDir}`], { env: { NEXUS_CACHE_DIR: fresh } });
    expect(im.code, im.stderr).toBe(0);
    // No --mirror: the profile's Alpine mirrors are unreachable here, so anything not in the cache would fail.
    const out = join(dir, 'offline', 'tinybox.img');
    const r = await nexus(
      [
        'build',
        '--profile=tinybox',
        '--target=qemu-x86_64',
        '--offline',
        `--user=${TEST_LOGIN.user}`,
        `--password-hash=${TEST_LOGIN.passwordHash}`,
        `--root-password-hash=${TEST_LOGIN.passwordHash}`,
        '--fragments=ssh',
        `--ssh-key=${(await testSshKey()).publicKey}`,
        `--keys=${feed.keysDir}`,
        `--output=${out}`,
        '--json',
      ],
      { env: { NEXUS_CACHE_DIR: fresh }, timeout: 240_000 },
    );
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    const final = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { value: { sha256: string } };
    expect(final.value.sha256).toBe(build.result.sha256);
  }, 300_000);
});
