/**
 * cryptobox on qemu-x86_64 across two boots of one disk (a writable copy of the image: QEMU without snapshot):
 * boot 1 logs in, writes under /etc and /home (the Notebook's persistent overlays on the F2FS state partition)
 * and into /vault, which the vault service created unattended on first boot (random key file, LUKS2 on a loop
 * device); boot 2 finds the three files again, the vault opened with the stored key, and the root still the
 * read-only dm-verity EROFS.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootTest, type BootTestResult } from '../../../src-main/engine/vm/boot-test';
import type { ConsoleCommandResult } from '../../../src-main/engine/vm/console-session';
import { Filesystems } from '../../../src-shared/catalog';
import { buildFromTestFeed, consoleSession, planFor, sharedNexusCache, TEST_USER } from '../../support/image-build';

const VAULT_DIR = '/var/lib/nexus/state/vault';
/** The serial getty does not wait for the boot marker: the first command waits until nexus-ready (and so the vault) is up. */
const WAIT_READY = "i=0; until dinitctl list | grep -q '^\\[{+}.*\\] nexus-ready$' || [ $i -ge 50 ]; do sleep 1; i=$((i+1)); done; dinitctl list | grep nexus-ready";
const BOOT1 = [
  WAIT_READY,
  'mount',
  'echo written-on-boot-1 > /etc/nexus-test',
  'echo "a note by ada" > /home/ada/note && chown ada:ada /home/ada/note',
  'echo vault-secret > /vault/secret',
  `stat -c '%a %u %s' ${VAULT_DIR}/vault.key`,
  `stat -c '%a' ${VAULT_DIR}`,
  'echo ram-only > /usr/nexus-ephemeral',
  'dinitctl list',
  // Kill -9 of QEMU follows the session: put everything on the disk first (twice: the vault's loop device writes
  // into the state partition's page cache, which the second pass flushes).
  'sync; sleep 1; sync',
];
const BOOT2 = [
  WAIT_READY,
  'mount',
  'cat /etc/nexus-test',
  'cat /home/ada/note',
  "stat -c '%U' /home/ada/note",
  'cat /vault/secret',
  `cat ${VAULT_DIR}/vault.log`,
  'ls /usr/nexus-ephemeral',
  'touch /usr/x',
  'ls /var/lib/nexus/state/overlay/etc/upper',
];

let dir: string;
let boot1: BootTestResult;
let boot2: BootTestResult;
let console1 = '';
const out = (r: BootTestResult, command: string): ConsoleCommandResult => {
  const c = r.commands?.find((x) => x.command === command);
  if (!c) throw new Error(`"${command}" was not run on the console (boot: ${r.reason ?? 'passed'}; log ${r.log})`);
  return c;
};

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('cryptobox-persist');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-persist-'));
  const image = join(dir, 'cryptobox.img');
  await buildFromTestFeed(await planFor('cryptobox', 'qemu-x86_64', image, TEST_USER));
  // The build's image stays untouched: both boots write into a copy.
  const disk = join(dir, 'disk.img');
  await execa('cp', ['--sparse=always', image, disk]);
  boot1 = await bootTest(disk, { arch: 'x86_64', timeoutSeconds: 240, writable: true, logPath: join(dir, 'boot1.log'), session: consoleSession(BOOT1) });
  console1 = await readFile(boot1.log, 'utf8');
  boot2 = await bootTest(disk, { arch: 'x86_64', timeoutSeconds: 240, writable: true, logPath: join(dir, 'boot2.log'), session: consoleSession(BOOT2) });
  console.log(`cryptobox persistence: boot 1 (vault created) ${boot1.seconds.toFixed(1)} s, boot 2 (vault opened) ${boot2.seconds.toFixed(1)} s`);
}, 900_000);
afterAll(() => (process.env.NEXUS_KEEP_TEST_DIR ? console.log(`kept ${dir}`) : rm(dir, { recursive: true, force: true })));

describe('cryptobox on qemu-x86_64 across two boots of one disk', () => {
  it('boot 1: /etc and /home are overlays on the state partition, the vault was created unattended and is mounted on /vault', () => {
    expect(boot1, boot1.reason).toMatchObject({ passed: true });
    const mount = out(boot1, 'mount').output;
    expect(mount).toMatch(/^\/dev\/mapper\/nexus-root on \/run\/nexus\/lower type erofs \(ro,/m);
    expect(mount).toMatch(/^overlay on \/etc type overlay \(rw,.*upperdir=(\/sysroot)?\/var\/lib\/nexus\/state\/overlay\/etc\/upper/m);
    expect(mount).toMatch(/^overlay on \/home type overlay \(rw,.*upperdir=(\/sysroot)?\/var\/lib\/nexus\/state\/overlay\/home\/upper/m);
    expect(mount).toMatch(/^\/dev\/mapper\/vault on \/vault type f2fs \(rw,/m);
    for (const c of BOOT1.slice(2, 5)) expect(out(boot1, c).status, c).toBe(0);
    // The key: 64 random bytes (512 bits), root's alone, in a directory only root can enter.
    expect(out(boot1, `stat -c '%a %u %s' ${VAULT_DIR}/vault.key`).output).toBe('600 0 64');
    expect(out(boot1, `stat -c '%a' ${VAULT_DIR}`).output).toBe('700');
    expect(out(boot1, 'dinitctl list').output).toMatch(/^\[\{\+\}\s*\] vault-setup$/m);
    expect(console1).toMatch(/nexus-vault: first boot: creating the vault/);
    expect(console1).toMatch(/nexus-vault: mounted \/dev\/mapper\/vault on \/vault/);
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
    expect(vaultLog).toMatch(/first boot: creating the vault[\s\S]*created [\s\S]*opened \/var\/lib\/nexus\/state\/vault\/vault.luks with [\s\S]*mounted \/dev\/mapper\/vault on \/vault$/);
    expect(vaultLog.match(/creating the vault/g)).toHaveLength(1);
    // Outside the persisted paths nothing survives, and / is still writable (in RAM).
    expect(out(boot2, 'ls /usr/nexus-ephemeral').status).not.toBe(0);
    expect(out(boot2, 'touch /usr/x').status).toBe(0);
    expect(out(boot2, 'ls /var/lib/nexus/state/overlay/etc/upper').output.split(/\s+/)).toContain('nexus-test');
  });
});

describe('filesystems.overlay.persist', () => {
  const parse = (persist: string[]) => Filesystems.safeParse({ root: { type: 'erofs', verity: true }, overlay: { type: 'f2fs', sizeMiB: 256, persist } });
  it('takes absolute, normalised directories outside the kernel filesystems and the state partition', () => {
    expect(parse(['/etc', '/home', '/root']).success).toBe(true);
    for (const bad of [['etc'], ['/etc/'], ['/etc/../srv'], ['/etc', '/etc'], ['/proc/x'], ['/run'], ['/var'], ['/var/lib/nexus/state/x'], ['/'], ['/et c']]) {
      expect(parse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
