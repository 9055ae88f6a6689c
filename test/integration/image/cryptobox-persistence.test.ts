/**
 * cryptobox on qemu-x86_64 across two boots of one disk (a writable copy of the image: QEMU without snapshot):
 * boot 1 logs in, writes under /etc and /home (the Notebook's persistent overlays on the F2FS state partition)
 * and into /vault, which the vault service created unattended on first boot (random key file, LUKS2 on a loop
 * device); boot 2 finds the three files again, the vault opened with the stored key, and the root still the
 * read-only dm-verity EROFS. With the `mesh` fragment and mesh settings: wg0 is up on both boots with the configured
 * address and peer, the device key made on boot 1 and kept. Between the boots one byte inside /sbin/mkfs.f2fs (a
 * file boot 2 never reads) is flipped in the root partition: boot 2 still comes up, and reading that file fails with
 * an I/O error (dm-verity checks blocks when they are read). Boot 1 also times a full read of the verity device.
 */
import { execa } from 'execa';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTest, type BootTestResult } from '../../../src-main/engine/vm/boot-test';
import type { ConsoleCommandResult } from '../../../src-main/engine/vm/console-session';
import { Filesystems } from '../../../src-shared/catalog';
import { debianTestFeed } from '../../support/debian-test-feed';
import {
  buildFromTestFeed,
  consoleSession,
  extractPartition,
  freePort,
  planFor,
  readTable,
  sharedNexusCache,
  TEST_MESH,
  TEST_USER,
} from '../../support/image-build';

const VAULT_DIR = '/var/lib/nexus/state/vault';
/** The serial getty does not wait for the boot marker: the first command waits until nexus-ready (and so the vault) is up. */
const WAIT_READY =
  "i=0; until dinitctl list | grep -q '^\\[{+}.*\\] nexus-ready$' || [ $i -ge 50 ]; do sleep 1; i=$((i+1)); done; dinitctl list | grep nexus-ready";
/**
 * The mesh service starts after the network's (DHCP), which starts after the marker: wait for it first, so the
 * service manager's "[  OK  ]" lines are on the console before the commands whose output the test reads.
 */
const WAIT_MESH =
  "i=0; until dinitctl list | grep -q '^\\[{+}.*\\] mesh$' || [ $i -ge 90 ]; do sleep 1; i=$((i+1)); done; sleep 2; dinitctl list | grep ' mesh'";
const WG_KEY = '/var/lib/nexus/state/wireguard';
/** The full check a user can run: read every block of the verified root once (timed), and the same with veritysetup. */
const FULL_READ = 'time cat /dev/mapper/nexus-root > /dev/null';
const FULL_VERIFY = "time veritysetup verify /dev/vda2 /dev/vda3 $(sed 's/.*nexus.verity=\\([0-9a-f]*\\).*/\\1/' /proc/cmdline)";
const MESH_COMMANDS = ['wg show wg0', 'ip addr show wg0', `cat ${WG_KEY}/public.key`, `stat -c '%a %U' ${WG_KEY}/private.key`];
const BOOT1 = [
  WAIT_READY,
  WAIT_MESH,
  'mount',
  'echo written-on-boot-1 > /etc/nexus-test',
  'echo "a note by ada" > /home/ada/note && chown ada:ada /home/ada/note',
  'echo vault-secret > /vault/secret',
  `stat -c '%a %u %s' ${VAULT_DIR}/vault.key`,
  `stat -c '%a' ${VAULT_DIR}`,
  'echo ram-only > /usr/nexus-ephemeral',
  'dinitctl list',
  ...MESH_COMMANDS,
  FULL_READ,
  FULL_VERIFY,
  // Kill -9 of QEMU follows the session: put everything on the disk first (twice: the vault's loop device writes
  // into the state partition's page cache, which the second pass flushes).
  'sync; sleep 1; sync',
];
const BOOT2 = [
  WAIT_READY,
  WAIT_MESH,
  'mount',
  'cat /etc/nexus-test',
  'cat /home/ada/note',
  "stat -c '%U' /home/ada/note",
  'cat /vault/secret',
  `cat ${VAULT_DIR}/vault.log`,
  'ls /usr/nexus-ephemeral',
  'touch /usr/x',
  'ls /var/lib/nexus/state/overlay/etc/upper',
  ...MESH_COMMANDS,
  // The flipped byte: reading the file fails, a file next to it reads fine, the kernel names the block.
  'cat /sbin/mkfs.f2fs > /dev/null',
  'cat /sbin/veritysetup > /dev/null',
  "dmesg | grep -i 'verity' | tail -n 2",
];

let dir: string;
let boot1: BootTestResult;
let boot2: BootTestResult;
let console1 = '';
let flipped = '';
const out = (r: BootTestResult, command: string): ConsoleCommandResult => {
  const c = r.commands?.find((x) => x.command === command);
  if (!c) throw new Error(`"${command}" was not run on the console (boot: ${r.reason ?? 'passed'}; log ${r.log})`);
  return c;
};

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('cryptobox-persist');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-persist-'));
  const image = join(dir, 'cryptobox.img');
  const feed = await debianTestFeed('x86_64', { packs: ['ssh'] }); // the mesh fragment requires base (dhcpcd)
  await buildFromTestFeed(
    await planFor(
      'cryptobox',
      'qemu-x86_64',
      image,
      { ...TEST_USER, mesh: { ...TEST_MESH, peers: TEST_MESH.peers.map((p) => ({ ...p, allowedIps: [...p.allowedIps] })) } },
      ['mesh'],
    ),
    { feed },
  );
  // The build's image stays untouched: both boots write into a copy.
  const disk = join(dir, 'disk.img');
  await execa('cp', ['--sparse=always', image, disk]);
  // A NIC on QEMU's user network: the mesh's service starts after the network's (DHCP).
  const net = { forwardPorts: [{ host: await freePort(), guest: 22 }] };
  boot1 = await bootTest(disk, {
    arch: 'x86_64',
    timeoutSeconds: 300,
    writable: true,
    logPath: join(dir, 'boot1.log'),
    session: consoleSession(BOOT1),
    ...net,
  });
  console1 = await readFile(boot1.log, 'utf8');
  flipped = await flipByteInFile(disk, '/sbin/mkfs.f2fs');
  boot2 = await bootTest(disk, {
    arch: 'x86_64',
    timeoutSeconds: 300,
    writable: true,
    logPath: join(dir, 'boot2.log'),
    session: consoleSession(BOOT2),
    ...net,
  });
  console.log(`cryptobox persistence: boot 1 (vault created) ${boot1.seconds.toFixed(1)} s, boot 2 (vault opened) ${boot2.seconds.toFixed(1)} s`);
}, 900_000);
/**
 * Flips one byte in the middle of a file's data inside the EROFS root partition of `disk` (dump.erofs gives the
 * file's physical extents in the filesystem image). Returns what was done, for messages.
 */
async function flipByteInFile(disk: string, path: string): Promise<string> {
  const t = await readTable(disk);
  const root = t.entries.find((e) => e.name === 'root')!;
  const part = await extractPartition(disk, root, join(dir, 'root-part.erofs'));
  const { stdout } = await execa('dump.erofs', [`--path=${path}`, '-e', part]);
  const extents = [...stdout.matchAll(/^\s*\d+:\s+\d+\.\.\s*\d+ \|\s+\d+ :\s+(\d+)\.\.\s*(\d+) \|/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
  if (!extents.length) throw new Error(`dump.erofs shows no extents for ${path}:\n${stdout}`);
  const [start, end] = extents[Math.floor(extents.length / 2)]!;
  const at = root.startLba * 512 + start + Math.floor((end - start) / 2);
  const fh = await open(disk, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0x01;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
  return `${path}: byte at ${at} (root partition offset ${at - root.startLba * 512}, extent ${extents.length >> 1} of ${extents.length})`;
}

afterAll(() => (process.env.NEXUS_KEEP_TEST_DIR ? console.log(`kept ${dir}`) : rm(dir, { recursive: true, force: true })));

describe('cryptobox on qemu-x86_64 across two boots of one disk', () => {
  it('boot 1: /etc and /home are overlays on the state partition, the vault was created unattended and is mounted on /vault', () => {
    expect(boot1, boot1.reason).toMatchObject({ passed: true });
    const mount = out(boot1, 'mount').output;
    expect(mount).toMatch(/^\/dev\/mapper\/nexus-root on \/run\/nexus\/lower type erofs \(ro,/m);
    expect(mount).toMatch(/^overlay on \/etc type overlay \(rw,.*upperdir=(\/sysroot)?\/var\/lib\/nexus\/state\/overlay\/etc\/upper/m);
    expect(mount).toMatch(/^overlay on \/home type overlay \(rw,.*upperdir=(\/sysroot)?\/var\/lib\/nexus\/state\/overlay\/home\/upper/m);
    expect(mount).toMatch(/^\/dev\/mapper\/vault on \/vault type f2fs \(rw,/m);
    for (const c of BOOT1.slice(3, 6)) expect(out(boot1, c).status, c).toBe(0);
    // The key: 64 random bytes (512 bits), root's alone, in a directory only root can enter.
    expect(out(boot1, `stat -c '%a %u %s' ${VAULT_DIR}/vault.key`).output).toBe('600 0 64');
    expect(out(boot1, `stat -c '%a' ${VAULT_DIR}`).output).toBe('700');
    expect(out(boot1, 'dinitctl list').output).toMatch(/^\[\{\+\}\s*\] vault-setup$/m);
    expect(console1).toMatch(/nexus-vault: first boot: creating the vault/);
    expect(console1).toMatch(/nexus-vault: mounted \/dev\/mapper\/vault on \/vault/);
  });

  it('boot 1: wg0 is up with the configured address and peer; the device key was made on the device, its public key shown', () => {
    checkMesh(boot1);
    const pub = out(boot1, `cat ${WG_KEY}/public.key`).output;
    expect(console1).toContain(`nexus-mesh: first boot: made this device's WireGuard key`);
    expect(console1).toContain(`this device's public key: ${pub}`);
    expect(out(boot1, `stat -c '%a %U' ${WG_KEY}/private.key`).output).toBe('600 root');
  });

  it('boot 1: a full read of the verified root succeeds (timed, for the docs: a first-boot full check is optional)', () => {
    for (const c of [FULL_READ, FULL_VERIFY]) {
      const r = out(boot1, c);
      expect(r.status, r.output).toBe(0);
      console.log(`cryptobox on TCG: ${c.replace(/\$\(.*\)/, 'ROOTHASH')}: ${r.output.replace(/\s+/g, ' ')}`);
    }
  });

  it('boot 2: the files under /etc, /home and /vault are back, the vault was opened with the stored key, the rest of / was RAM', () => {
    expect(boot2, boot2.reason).toMatchObject({ passed: true });
    expect(out(boot2, 'cat /etc/nexus-test')).toMatchObject({ output: 'written-on-boot-1', status: 0 });
    expect(out(boot2, 'cat /home/ada/note')).toMatchObject({ output: 'a note by ada', status: 0 });
    expect(out(boot2, "stat -c '%U' /home/ada/note").output).toBe('ada');
    expect(out(boot2, 'cat /vault/secret')).toMatchObject({ output: 'vault-secret', status: 0 });
    const mount = out(boot2, 'mount').output;
    expect(mount).toMatch(/^\/dev\/mapper\/vault on \/vault type f2fs \(rw,/m);
    expect(mount).toMatch(/^\/dev\/mapper\/nexus-root on \/run\/nexus\/lower type erofs \(ro,/m);
    const vaultLog = out(boot2, `cat ${VAULT_DIR}/vault.log`).output;
    expect(vaultLog).toMatch(
      /first boot: creating the vault[\s\S]*created [\s\S]*opened \/var\/lib\/nexus\/state\/vault\/vault.luks with [\s\S]*mounted \/dev\/mapper\/vault on \/vault$/,
    );
    expect(vaultLog.match(/creating the vault/g)).toHaveLength(1);
    // Outside the persisted paths nothing survives, and / is still writable (in RAM).
    expect(out(boot2, 'ls /usr/nexus-ephemeral').status).not.toBe(0);
    expect(out(boot2, 'touch /usr/x').status).toBe(0);
    expect(out(boot2, 'ls /var/lib/nexus/state/overlay/etc/upper').output.split(/\s+/)).toContain('nexus-test');
  });

  it('boot 2: wg0 is up again with the same device key (kept on the state partition)', () => {
    checkMesh(boot2);
    expect(out(boot2, `cat ${WG_KEY}/public.key`).output).toBe(out(boot1, `cat ${WG_KEY}/public.key`).output);
  });

  it('boot 2: with one byte flipped inside /sbin/mkfs.f2fs the Box boots, and reading that file fails with an I/O error', () => {
    expect(boot2, `${boot2.reason} (${flipped})`).toMatchObject({ passed: true });
    const read = out(boot2, 'cat /sbin/mkfs.f2fs > /dev/null');
    expect(read.status, flipped).not.toBe(0);
    expect(read.output).toMatch(/I\/O error/);
    expect(out(boot2, 'cat /sbin/veritysetup > /dev/null').status).toBe(0);
    expect(out(boot2, "dmesg | grep -i 'verity' | tail -n 2").output).toMatch(/verity.*(data block \d+ is corrupted|corrupted)/i);
  });
});

function checkMesh(r: BootTestResult): void {
  expect(out(r, WAIT_MESH).output).toMatch(/^\[\{\+\}\s*\] mesh$/m);
  const wg = out(r, 'wg show wg0');
  expect(wg.status, wg.output).toBe(0);
  const peer = TEST_MESH.peers[0];
  expect(wg.output).toMatch(/listening port: 51820/);
  expect(wg.output).toContain(`peer: ${peer.publicKey}`);
  expect(wg.output).toContain(`endpoint: ${peer.endpoint}`);
  expect(wg.output).toContain(`allowed ips: ${peer.allowedIps.join(', ')}`);
  expect(wg.output).toMatch(/persistent keepalive: every 25 seconds/);
  expect(out(r, 'ip addr show wg0').output).toMatch(new RegExp(`inet ${TEST_MESH.address.replace(/\./g, '\\.')} `));
}

describe('filesystems.overlay.persist', () => {
  const parse = (persist: string[]) => Filesystems.safeParse({ root: { type: 'erofs', verity: true }, overlay: { type: 'f2fs', sizeMiB: 256, persist } });
  it('takes absolute, normalised directories outside the kernel filesystems and the state partition', () => {
    expect(parse(['/etc', '/home', '/root']).success).toBe(true);
    for (const bad of [['etc'], ['/etc/'], ['/etc/../srv'], ['/etc', '/etc'], ['/proc/x'], ['/run'], ['/var'], ['/var/lib/nexus/state/x'], ['/'], ['/et c']]) {
      expect(parse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
