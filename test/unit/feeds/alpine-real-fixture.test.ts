/**
 * Checks the real Alpine metadata fixture in test/fixtures/alpine-real (stanzas copied verbatim from
 * knqyf263/apkindex-archive, see PROVENANCE.md there): every part parses with the project's APKINDEX
 * text parser, every stanza has C:/P:/V:/A: with the directory's architecture, each part is sorted by
 * name, each part's bytes match the recorded digest and package list (so an edited or missing stanza
 * fails), and each architecture's main+community stanzas form a complete dependency closure.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseApkIndexBuffer, type ApkPackage, type RepoRef } from '../../../src-main/engine/feeds/apkindex';
import { satisfies } from '../../../src-main/engine/feeds/version';

const ROOT = join(__dirname, '../../fixtures/alpine-real');
const ARCHES = ['x86_64', 'aarch64', 'riscv64'] as const;

/** Packages whose D: is deliberately not followed (documented in PROVENANCE.md). */
const CLOSURE_SKIPPED = new Set(['mkinitfs']);

/** Recorded when the parts were copied: sha256 of each file and the P: names it holds, in order. */
const MANIFEST: Record<string, { sha256: string; names: string[] }> = {
  'v3.24/community/aarch64/APKINDEX.part': {
    sha256: '18ce8b3328126c6fac8ccb1666e156cc6f5dbbbcbeca311735918d7f8a19c3af',
    names: ['dinit', 'dinit-shutdown', 'iwd'],
  },
  'v3.24/community/riscv64/APKINDEX.part': {
    sha256: 'bcbe61719dd7f81553f626c77eaad60acff760475276666f62eeada1e29c291f',
    names: ['dinit', 'dinit-shutdown', 'iwd'],
  },
  'v3.24/community/x86_64/APKINDEX.part': {
    sha256: 'a5ac7298a24c85818ce10d3a412be92c3a840b5321289e32878c5e93bd581f17',
    names: ['dinit', 'dinit-shutdown', 'iwd'],
  },
  'v3.24/main/aarch64/APKINDEX.part': {
    sha256: 'd58eded08e250a706d9fb10bb0398ba8a21b1b3796483708280916bc31d220f4',
    names: [
      'busybox',
      'busybox-binsh',
      'busybox-static',
      'ca-certificates-bundle',
      'cryptsetup',
      'cryptsetup-libs',
      'dbus',
      'dbus-libs',
      'device-mapper-libs',
      'dhcpcd',
      'dropbear',
      'f2fs-tools',
      'f2fs-tools-libs',
      'json-c',
      'libblkid',
      'libcrypto3',
      'libeconf',
      'libexpat',
      'libgcc',
      'libncursesw',
      'libstdc++',
      'libuuid',
      'linux-firmware-brcm',
      'linux-firmware-cypress',
      'linux-firmware-none',
      'linux-firmware-synaptics',
      'linux-lts',
      'linux-rpi',
      'linux-virt',
      'mkinitfs',
      'musl',
      'ncurses-terminfo-base',
      'popt',
      'readline',
      'skalibs-libs',
      'systemd-boot',
      'systemd-efistub',
      'utmps-libs',
      'wireguard-tools-wg',
      'wireless-regdb',
      'zlib',
    ],
  },
  'v3.24/main/riscv64/APKINDEX.part': {
    sha256: 'a8e5c50f38d040d7f68a8fe2b99882c58dea4b6255cc9450c678cfdf40945a4c',
    names: [
      'busybox',
      'busybox-binsh',
      'busybox-static',
      'ca-certificates-bundle',
      'cryptsetup',
      'cryptsetup-libs',
      'dbus',
      'dbus-libs',
      'device-mapper-libs',
      'dhcpcd',
      'dropbear',
      'f2fs-tools',
      'f2fs-tools-libs',
      'json-c',
      'libblkid',
      'libcrypto3',
      'libeconf',
      'libexpat',
      'libgcc',
      'libncursesw',
      'libstdc++',
      'libuuid',
      'linux-firmware-none',
      'linux-lts',
      'mkinitfs',
      'musl',
      'ncurses-terminfo-base',
      'popt',
      'readline',
      'skalibs-libs',
      'systemd-boot',
      'systemd-efistub',
      'u-boot',
      'u-boot-starfive',
      'utmps-libs',
      'wireguard-tools-wg',
      'wireless-regdb',
      'zlib',
    ],
  },
  'v3.24/main/x86_64/APKINDEX.part': {
    sha256: 'edef5d95066cf7e2a076741cdc773e4bf5180dea31a4d76f223781d0e27857ad',
    names: [
      'busybox',
      'busybox-binsh',
      'busybox-static',
      'ca-certificates-bundle',
      'cryptsetup',
      'cryptsetup-libs',
      'dbus',
      'dbus-libs',
      'device-mapper-libs',
      'dhcpcd',
      'dropbear',
      'f2fs-tools',
      'f2fs-tools-libs',
      'json-c',
      'libblkid',
      'libcrypto3',
      'libeconf',
      'libexpat',
      'libgcc',
      'libncursesw',
      'libstdc++',
      'libuuid',
      'linux-firmware-none',
      'linux-lts',
      'linux-virt',
      'mkinitfs',
      'musl',
      'ncurses-terminfo-base',
      'popt',
      'readline',
      'skalibs-libs',
      'systemd-boot',
      'systemd-efistub',
      'utmps-libs',
      'wireguard-tools-wg',
      'wireless-regdb',
      'zlib',
    ],
  },
};

function repoOf(rel: string): RepoRef {
  const [branch, name, arch] = rel.split('/') as [string, string, string];
  return { name, branch, arch, base: join(ROOT, branch, name, arch) };
}

function load(rel: string): { bytes: Buffer; pkgs: ApkPackage[] } {
  const bytes = readFileSync(join(ROOT, rel));
  return { bytes, pkgs: parseApkIndexBuffer(bytes, repoOf(rel)) };
}

/** Raw stanzas (for field presence: the parser fills defaults for missing fields). */
function rawStanzas(bytes: Buffer): Array<Map<string, string>> {
  return bytes
    .toString('utf8')
    .split('\n\n')
    .filter((s) => s.trim() !== '')
    .map((s) => new Map(s.split('\n').map((l) => [l.slice(0, 1), l.slice(2)] as [string, string])));
}

describe('alpine-real fixture', () => {
  const rels = Object.keys(MANIFEST).sort();

  it('covers every architecture in v3.24 main, community and edge/testing', () => {
    for (const arch of ARCHES) {
      for (const repo of ['v3.24/main', 'v3.24/community']) {
        expect(rels).toContain(`${repo}/${arch}/APKINDEX.part`);
      }
    }
  });

  describe.each(rels)('%s', (rel) => {
    const arch = rel.split('/')[2]!;
    const { bytes, pkgs } = load(rel);

    it('is byte-identical to what was recorded', () => {
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(MANIFEST[rel]!.sha256);
      expect(pkgs.map((p) => p.name)).toEqual(MANIFEST[rel]!.names);
    });

    it('has C:, P:, V:, A: in every stanza, with the directory architecture', () => {
      const raw = rawStanzas(bytes);
      expect(raw.length).toBe(pkgs.length);
      for (const s of raw) {
        for (const f of ['C', 'P', 'V', 'A']) expect(s.get(f), `${s.get('P')} ${f}:`).toBeTruthy();
        expect(s.get('C')!.startsWith('Q1'), s.get('P')).toBe(true);
        expect(s.get('A'), s.get('P')).toBe(arch);
      }
      for (const p of pkgs) {
        expect(p.arch).toBe(arch);
        expect(p.checksum).toMatch(/^Q1[A-Za-z0-9+/]{27}=$/);
        expect(p.uninstallable).toBeUndefined();
      }
    });

    it('is sorted by package name', () => {
      const names = pkgs.map((p) => p.name);
      expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(new Set(names).size).toBe(names.length);
    });
  });

  describe.each(ARCHES)('%s main+community closure', (arch) => {
    const pkgs = [`v3.24/main/${arch}/APKINDEX.part`, `v3.24/community/${arch}/APKINDEX.part`]
      .filter((rel) => rel in MANIFEST)
      .flatMap((rel) => load(rel).pkgs);

    /** name → versions it is provided at (a package's own name, and its p: entries). */
    const provided = new Map<string, Array<string | undefined>>();
    const add = (name: string, version: string | undefined) => provided.set(name, [...(provided.get(name) ?? []), version]);
    for (const p of pkgs) {
      add(p.name, p.version);
      for (const pr of p.provides) add(pr.name, pr.version);
    }

    it('provides every dependency of every stanza', () => {
      const missing: string[] = [];
      for (const p of pkgs) {
        if (CLOSURE_SKIPPED.has(p.name)) continue;
        for (const d of p.depends) {
          if (d.conflict) continue;
          const versions = provided.get(d.name) ?? [];
          const ok =
            d.op === undefined || d.version === undefined ? versions.length > 0 : versions.some((v) => v !== undefined && satisfies(v, d.op!, d.version!));
          if (!ok) missing.push(`${p.name} -> ${d.name}${d.op ?? ''}${d.version ?? ''}`);
        }
      }
      expect(missing).toEqual([]);
    });

    it('holds the packages the Boxes need', () => {
      const names = new Set(pkgs.map((p) => p.name));
      for (const n of [
        'busybox',
        'busybox-binsh',
        'busybox-static',
        'musl',
        'libgcc',
        'libstdc++',
        'dinit',
        'linux-lts',
        'linux-firmware-none',
        'mkinitfs',
        'systemd-efistub',
        'systemd-boot',
        'cryptsetup',
        'f2fs-tools',
        'wireguard-tools-wg',
      ]) {
        expect(names, n).toContain(n);
      }
    });
  });
});
