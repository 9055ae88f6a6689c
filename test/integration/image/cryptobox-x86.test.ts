/**
 * cryptobox for qemu-x86_64 with the `ssh` fragment: EROFS root under dm-verity (root hash on the UKI's command
 * line), F2FS state, boot to the marker through the verity root, a console login (password) and an SSH login (key,
 * QEMU user network) in the same boot, `veritysetup verify`, fsck of every filesystem, a hostname-only
 * rebuild that reuses the stages it does not touch, and one flipped byte in the root partition that makes both
 * `veritysetup verify` and the boot fail.
 */
import { execa } from 'execa';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTest, type BootTestResult } from '../../../src-main/engine/vm/boot-test';
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

let dir: string;
let build: TestBuild;
let boot: BootTestResult;
let ssh: SshResult;
let feed: TestFeed;
let sshKey: string;
const image = () => join(dir, 'cryptobox.img');
const GPT = { root: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', verity: '2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5', linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4' };

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('cryptobox-x86');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-cryptobox-'));
  sshKey = (await testSshKey()).publicKey;
  feed = await debianTestFeed('x86_64', { packs: ['ssh'] });
  build = await buildFromTestFeed(await planFor('cryptobox', 'qemu-x86_64', image(), { ...TEST_USER, sshKeys: [sshKey] }, ['ssh']), { feed });
  ({ boot, ssh } = await bootWithSsh(image(), {
    arch: 'x86_64',
    logPath: join(dir, 'cryptobox.console.log'),
    commands: FIRST_COMMANDS,
    user: TEST_LOGIN.user,
    sshCommand: 'id; hostname; mount | grep -c " on / type overlay"; touch /etc/x 2>&1 | head -n 1',
  }));
  console.log(`cryptobox: boot ${boot.seconds.toFixed(1)} s; ssh after ${ssh.attempts} attempt(s)`);
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('cryptobox on qemu-x86_64', () => {
  it('boots through the verity root to the marker', async () => {
    expect(boot, boot.reason).toMatchObject({ passed: true });
  });

  it('lets the user log in over SSH with their key (Dropbear, host keys made on the first start, on the persistent /etc)', () => {
    expect(ssh.exitCode, `${ssh.stderr}\n${ssh.stdout}`).toBe(0);
    const [id, host, overlayRoot, touchEtc] = ssh.stdout.trim().split('\n');
    expect(id).toMatch(/^uid=1000\(ada\) gid=1000\(ada\)/);
    expect(host).toBe('cryptobox');
    expect(overlayRoot).toBe('1');
    // A user is not root: /etc stays root's.
    expect(touchEtc).toMatch(/Permission denied/);
  });

  it('a console login sees / as RAM over the dm-verity EROFS root, the F2FS state partition mounted, and dinit running', () => {
    const commandOutput = (_: unknown, command: string) => bootOutput(boot, command);
    const mount = commandOutput(build, 'mount').output;
    expect(mount).toMatch(/^\/dev\/mapper\/nexus-root on \/run\/nexus\/lower type erofs \(ro,/m);
    expect(mount).toMatch(/^overlay on \/ type overlay \(rw,.*lowerdir=\/run\/nexus\/lower,upperdir=\/run\/nexus\/rw\/upper/m);
    expect(mount).toMatch(/^\/dev\/vda4 on \/var\/lib\/nexus\/state type f2fs \(rw,/m);
    expect(commandOutput(build, 'ls /usr/sbin/dinit')).toMatchObject({ output: '/usr/sbin/dinit', status: 0 });
    expect(commandOutput(build, 'dinitctl list').output).toMatch(/^\[\{\+\}\s*\] nexus-ready$/m);
  });

  it('has ESP, root, root-verity and state partitions with DPS types; every filesystem checks clean; verity verifies', async () => {
    const t = await readTable(image());
    expect(t.entries.map((e) => [e.name, e.type])).toEqual([
      ['ESP', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
      ['root', GPT.root],
      ['root-verity', GPT.verity],
      ['state', GPT.linux],
    ]);
    const [esp, root, hash, state] = await Promise.all(t.entries.map((e, i) => extractPartition(image(), e, join(dir, `p${i + 1}.img`))));
    await execa('fsck.vfat', ['-n', esp!]);
    await execa('fsck.erofs', [root!]);
    // The root the boot read is LZ4-compressed by the in-process writer (0PADDING clusters, full index).
    expect((await execa('dump.erofs', ['-s', root!])).stdout).toMatch(/Filesystem features:.*\b0padding\b/);
    expect((await execa('dump.erofs', ['--path=/bin/busybox', root!])).stdout).toMatch(/Layout: 1\b/);
    await execa('fsck.f2fs', ['-f', state!]);
    const m = await readJson<{ verity: { rootHash: string }; boot: { kernelCmdline: string } }>(join(dir, 'cryptobox.manifest.json'));
    expect(m.boot.kernelCmdline).toContain(`nexus.verity=${m.verity.rootHash}`);
    await execa('veritysetup', ['verify', root!, hash!, m.verity.rootHash]);
  });

  it('rebuilds a hostname-only change reusing the initramfs and the state filesystem', async () => {
    const again = await buildFromTestFeed(
      await planFor('cryptobox', 'qemu-x86_64', join(dir, 'renamed.img'), { ...TEST_USER, sshKeys: [sshKey], hostname: `renamed-${Date.now().toString(36)}` }, [
        'ssh',
      ]),
      { feed },
    );
    expect(again.reused).toEqual(expect.arrayContaining(['initramfs', 'state-f2fs']));
    expect(again.reused).not.toContain('root-erofs');
  });

  it('refuses to boot after one flipped byte in the root partition', async () => {
    const t = await readTable(image());
    const root = t.entries[1]!;
    const broken = join(dir, 'broken.img');
    await execa('cp', ['--sparse=always', image(), broken]);
    const fh = await open(broken, 'r+');
    const at = root.startLba * 512 + 1024 + 8; // inside the EROFS superblock, read at mount time
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
    await fh.close();
    const m = await readJson<{ verity: { rootHash: string } }>(join(dir, 'cryptobox.manifest.json'));
    const [r, h] = await Promise.all([
      extractPartition(broken, root, join(dir, 'broken-root.img')),
      extractPartition(broken, t.entries[2]!, join(dir, 'broken-hash.img')),
    ]);
    const verify = await execa('veritysetup', ['verify', r, h, m.verity.rootHash], { reject: false });
    expect(verify.exitCode).not.toBe(0);
    const boot = await bootTest(broken, { arch: 'x86_64', timeoutSeconds: 150 });
    expect(boot.passed).toBe(false);
    expect(boot.reason).toMatch(/NEXUS-BOOT-FAILED: dm-verity/);
  }, 200_000);
});
