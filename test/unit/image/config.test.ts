import { describe, expect, it } from 'vitest';
import { dinitEntries, serviceFile, validateDinitService } from '../../../src-main/engine/image/config/dinit';
import { accounts, etcEntries, fstab, iwdFileName, iwdNetworkFile, osRelease, wpaSupplicantConf } from '../../../src-main/engine/image/config/etc';
import { blsEntry, extlinuxConf, rpiCmdlineTxt, rpiConfigTxt } from '../../../src-main/engine/image/config/boot';
import { Seed } from '../../../src-main/engine/image/reproducible';
import { spdxDocument } from '../../../src-main/engine/image/sbom';
import { composeOutputs, type ComposePlan } from '../../../src-shared/plan';
import { CustomizationSchema } from '../../../src-shared/customization';

const HASH6 = '$6$saltsalt$' + 'a'.repeat(86);
function plan(over: Partial<ComposePlan> = {}): ComposePlan {
  return {
    schemaVersion: 1,
    recipe: 'compose',
    planHash: 'f'.repeat(64),
    box: { name: 'cryptobox', tier: 'STC-2', nickname: 'The Vault', recipe: 'compose' },
    chain: ['tinybox', 'cryptobox'],
    arch: 'x86_64',
    board: { name: 'qemu-x86_64', title: 'QEMU', kind: 'vm', console: 'ttyS0' },
    fragments: [],
    feed: {
      name: 'alpine',
      branch: 'v3.22',
      arch: 'x86_64',
      repositories: ['main'],
      tagged: [],
      mirrors: ['https://dl-cdn.alpinelinux.org/alpine'],
      keys: 'keys/alpine',
    },
    packages: [],
    builderProvides: [],
    services: [
      { name: 'nexus-ready', type: 'scripted', command: '/usr/libexec/nexus/ready', dependsOn: [], from: ['box:tinybox'] },
      { name: 'dhcpcd', type: 'bgprocess', command: '/sbin/dhcpcd --background', dependsOn: ['nexus-ready'], from: ['fragment:base'] },
      { name: 'dropbear', type: 'process', command: '/usr/sbin/dropbear -F -R -s', dependsOn: ['dhcpcd'], from: ['fragment:ssh'] },
    ],
    files: [],
    kernelModules: [],
    slots: [],
    filesystems: { root: { type: 'erofs', verity: true }, overlay: { type: 'f2fs', sizeMiB: 256, mountpoint: '/var/lib/nexus/state', persist: [] } },
    partitionTable: 'gpt',
    partitions: [],
    boot: { method: 'uefi', loader: 'uki', kernelPackage: 'linux-virt', bootPackages: [], fat: 'fat32', kernelCmdline: 'console=ttyS0', files: [] },
    official: null,
    customization: CustomizationSchema.parse({
      hostname: 'vault',
      user: { name: 'ada', passwordHash: HASH6 },
      sshKeys: [],
      wifi: { ssid: 'Café Net', passphrase: 'correct horse', country: 'de' },
      timezone: 'Europe/Berlin',
      keyboard: 'de',
      locale: 'de_DE.UTF-8',
    }),
    budgets: { packages: {} },
    outputs: composeOutputs('/x.img'),
    notes: [],
    warnings: [],
    ...over,
  };
}

describe('dinit service files', () => {
  it('generates files that follow dinit-service(5), with enablement links in boot.d', () => {
    const p = plan();
    const entries = dinitEntries(p.services);
    for (const e of entries.filter((x) => x.type === 'file')) expect(validateDinitService(String(e.content)), e.path).toEqual([]);
    expect(entries.find((e) => e.path === '/etc/dinit.d/boot')!.content).toMatch(/^waits-for\.d = boot\.d$/m);
    expect(entries.filter((e) => e.type === 'symlink').map((e) => [e.path, e.linkTarget])).toContainEqual(['/etc/dinit.d/boot.d/dropbear', '../dropbear']);
    expect(serviceFile(p.services[1]!)).toMatch(/^pid-file = \/run\/dhcpcd\/pid$/m);
    expect(serviceFile(p.services[2]!)).toMatch(/^depends-on = dhcpcd$/m);
  });

  it('the validator rejects what dinit would reject', () => {
    expect(validateDinitService('type = bgprocess\ncommand = /x\n')).toContain('a bgprocess service needs a pid-file');
    expect(validateDinitService('type = daemon\n')).toContain('unknown type "daemon"');
    expect(validateDinitService('type = process\nexec-start = /x\n')).toEqual(
      expect.arrayContaining([expect.stringMatching(/unknown setting/), 'a process service needs a command']),
    );
  });
});

describe('accounts', () => {
  it('locks root, stores only the crypt hash and gives the admin user wheel', () => {
    const a = accounts(plan(), 1_704_067_200);
    expect(a.shadow).toMatch(/^root:!:19723:/m);
    expect(a.shadow).toContain(`ada:${HASH6}:19723:`);
    expect(a.passwd).toMatch(/^ada:x:1000:1000:ada:\/home\/ada:\/bin\/sh$/m);
    expect(a.group).toMatch(/^wheel:x:10:root,ada$/m);
  });

  it('puts authorized_keys under the user with 0600/0700 modes', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl you@host';
    const p = plan({ customization: CustomizationSchema.parse({ hostname: 'h', user: { name: 'ada' }, sshKeys: [key] }) });
    const e = etcEntries({ plan: p, epoch: 0, installed: new Set(), hasZoneinfo: false });
    const ak = e.find((x) => x.path === '/home/ada/.ssh/authorized_keys')!;
    expect([ak.mode, ak.uid, ak.gid]).toEqual([0o600, 1000, 1000]);
    expect(e.find((x) => x.path === '/home/ada/.ssh')!.mode).toBe(0o700);
    expect(e.find((x) => x.path === '/etc/shadow')!.mode).toBe(0o640);
    expect(String(e.find((x) => x.path === '/etc/shadow')!.content)).toMatch(/^ada:\*:/m);
  });
});

describe('Wi-Fi, locale and friends', () => {
  it('writes iwd and wpa_supplicant files with the regulatory country', () => {
    const p = plan();
    const wifi = p.customization.wifi!;
    expect(iwdFileName(wifi.ssid, true)).toBe(`=${Buffer.from('Café Net').toString('hex')}.psk`);
    expect(iwdFileName('home_net', true)).toBe('home_net.psk');
    expect(iwdNetworkFile(wifi)).toMatch(/^Passphrase=correct horse$/m);
    expect(wpaSupplicantConf(wifi)).toMatch(/^country=DE$/m);
    const e = etcEntries({ plan: p, epoch: 0, installed: new Set(['iwd']), hasZoneinfo: true });
    expect(String(e.find((x) => x.path === '/etc/modprobe.d/nexus-wifi.conf')!.content)).toBe('options cfg80211 ieee80211_regdom=DE\n');
    expect(e.find((x) => x.path.startsWith('/var/lib/iwd/='))!.mode).toBe(0o600);
    expect(e.find((x) => x.path === '/etc/localtime')!.linkTarget).toBe('/usr/share/zoneinfo/Europe/Berlin');
    expect(String(e.find((x) => x.path === '/etc/hostname')!.content)).toBe('vault\n');
  });

  it('fstab mounts the state partition and os-release names the Box', () => {
    expect(fstab(plan())).toMatch(/^PARTLABEL=state\t\/var\/lib\/nexus\/state\tf2fs/m);
    expect(osRelease(plan())).toMatch(/^VARIANT_ID=cryptobox$/m);
  });
});

describe('boot configuration', () => {
  it('config.txt names kernel and initramfs explicitly; cmdline.txt is one line', () => {
    const c = rpiConfigTxt({ kernel: 'vmlinuz-rpi', initramfs: 'initramfs-rpi' });
    expect(c).toMatch(/^arm_64bit=1$/m);
    expect(c).toMatch(/^kernel=vmlinuz-rpi$/m);
    expect(c).toMatch(/^initramfs initramfs-rpi followkernel$/m);
    expect(rpiCmdlineTxt('console=ttyAMA10,115200\n  loglevel=4 ')).toBe('console=ttyAMA10,115200 loglevel=4\n');
  });

  it('extlinux.conf and BLS entries point at the kernel, initramfs and device trees', () => {
    const x = extlinuxConf({ kernel: 'vmlinuz', initramfs: 'initramfs' }, 'console=ttyS0', 'dtbs');
    expect(x).toMatch(/^\tkernel \/vmlinuz$/m);
    expect(x).toMatch(/^\tfdtdir \/dtbs$/m);
    expect(x).toMatch(/^\tappend console=ttyS0$/m);
    expect(blsEntry('Nexus', { kernel: 'vmlinuz', initramfs: 'initramfs' }, 'quiet')).toBe('title Nexus\nlinux /vmlinuz\ninitrd /initramfs\noptions quiet\n');
  });
});

describe('reproducible seeds and SBOM', () => {
  it('derives the same UUIDs from the same plan hash and epoch, different ones otherwise', () => {
    const a = new Seed('a'.repeat(64), 1);
    expect(a.uuid('disk')).toBe(new Seed('a'.repeat(64), 1).uuid('disk'));
    expect(a.uuid('disk')).not.toBe(new Seed('a'.repeat(64), 2).uuid('disk'));
    expect(a.uuid('disk')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('writes SPDX 2.3 with one package per locked package', () => {
    const lock = {
      lockVersion: 1 as const,
      feed: { name: 'alpine', branch: 'v3.24', arch: 'x86_64', repositories: ['main'], tagged: [] },
      indexes: {},
      packages: [
        {
          name: 'toybox',
          version: '0.8.13-r0',
          arch: 'x86_64',
          repository: 'main',
          checksum: 'Q1' + Buffer.alloc(20, 1).toString('base64'),
          size: 1,
          installedSize: 1,
          license: '0BSD',
          origin: 'toybox',
          url: '',
        },
      ],
    };
    const d = spdxDocument(plan(), lock, 1_704_067_200, 'c'.repeat(64)) as {
      spdxVersion: string;
      packages: Array<{ name: string; licenseDeclared: string; checksums?: unknown }>;
      creationInfo: { created: string };
    };
    expect(d.spdxVersion).toBe('SPDX-2.3');
    expect(d.creationInfo.created).toBe('2024-01-01T00:00:00Z');
    expect(d.packages[1]).toMatchObject({ name: 'toybox', licenseDeclared: '0BSD', checksums: [{ algorithm: 'SHA1', checksumValue: '01'.repeat(20) }] });
  });
});
