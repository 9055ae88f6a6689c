import { beforeAll, describe, expect, it } from 'vitest';
import { BoxSchema, type Catalog } from '../../../src-shared/catalog';
import { BuildPlanSchema, REDACTED, redactSecrets } from '../../../src-shared/plan';
import { hashCanonical } from '../../../src-main/engine/plan/canonical';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { resolvePlan } from '../../../src-main/engine/plan/resolve';
import { GPT_TYPES } from '../../../src-main/engine/plan/partitions';

let c: Catalog;
beforeAll(async () => {
  c = await loadCatalog();
});

describe('every Box × board combination', () => {
  it('resolves valid combinations to schema-valid, deterministic plans and refuses the others', () => {
    let valid = 0;
    let invalid = 0;
    for (const box of c.boxes.values()) {
      for (const board of c.boards.values()) {
        for (const arch of ['x86_64', 'arm64', 'riscv64'] as const) {
          const req = { profile: box.name, target: board.name, arch };
          if (board.arch !== arch) {
            expect(() => resolvePlan(c, req)).toThrow(expect.objectContaining({ code: 'BOARD_ARCH_MISMATCH' }));
            invalid++;
            continue;
          }
          if (!box.architectures.includes(arch)) {
            expect(() => resolvePlan(c, req)).toThrow(expect.objectContaining({ code: 'ARCH_UNSUPPORTED' }));
            invalid++;
            continue;
          }
          const plan = resolvePlan(c, req);
          expect(BuildPlanSchema.safeParse(plan).success).toBe(true);
          expect(resolvePlan(c, req).planHash).toBe(plan.planHash);
          expect(plan.arch).toBe(board.arch);
          expect(plan.recipe).toBe(box.recipe);
          if (plan.recipe === 'compose') {
            const names = plan.packages.map((p) => p.name);
            expect(names).toContain(board.kernelPackage);
            for (const p of box.packages) expect(names).toContain(p);
            expect(plan.partitions.some((p) => p.role === 'esp' || p.role === 'boot')).toBe(true);
            expect(plan.feed.arch).toBe({ x86_64: 'x86_64', arm64: 'aarch64', riscv64: 'riscv64' }[arch]);
          } else {
            expect(plan.official.os).toBe('openbsd');
            expect(plan.packages).toEqual([]);
          }
          valid++;
        }
      }
    }
    expect(valid).toBe(6 * 6);
    expect(invalid).toBe(6 * 6 * 2);
  });

  it('is one recipe or the other, each complete, with every output path named after the image', () => {
    const tiny = resolvePlan(c, { profile: 'tinybox', target: 'qemu-x86_64', output: 'out/Tiny.IMG' }, { cwd: '/w' });
    expect(tiny.recipe).toBe('compose');
    expect(tiny.outputs).toEqual({
      image: '/w/out/Tiny.IMG',
      checksum: '/w/out/Tiny.IMG.sha256',
      bmap: '/w/out/Tiny.bmap',
      manifest: '/w/out/Tiny.manifest.json',
      sbom: '/w/out/Tiny.spdx.json',
      lock: '/w/out/Tiny.packages.lock.json',
      consoleLog: '/w/out/Tiny.console.log',
    });
    const open = resolvePlan(c, { profile: 'openbox', target: 'rpi5', output: 'out/open.img' }, { cwd: '/w' });
    expect(open.recipe).toBe('official-image');
    expect(open.outputs).toEqual({
      image: '/w/out/open.img',
      checksum: '/w/out/open.img.sha256',
      manifest: '/w/out/open.manifest.json',
      answers: '/w/out/open.install.conf',
    });
    // The schema accepts each recipe only complete, and never a mix of the two.
    expect(BuildPlanSchema.safeParse(tiny).success).toBe(true);
    expect(BuildPlanSchema.safeParse(open).success).toBe(true);
    for (const section of ['feed', 'boot', 'filesystems'] as const)
      expect(BuildPlanSchema.safeParse({ ...tiny, [section]: null }).success, section).toBe(false);
    expect(BuildPlanSchema.safeParse({ ...tiny, outputs: { ...tiny.outputs, consoleLog: undefined } }).success).toBe(false);
    expect(BuildPlanSchema.safeParse({ ...open, official: null }).success).toBe(false);
    expect(BuildPlanSchema.safeParse({ ...open, outputs: { ...open.outputs, answers: undefined } }).success).toBe(false);
    expect(BuildPlanSchema.safeParse({ ...tiny, recipe: 'official-image' }).success).toBe(false);
    expect(BuildPlanSchema.safeParse({ ...open, recipe: 'compose' }).success).toBe(false);
  });

  it('gives every distinct combination a distinct plan hash', () => {
    const hashes = new Set<string>();
    for (const box of c.boxes.values()) for (const board of c.boards.values()) hashes.add(resolvePlan(c, { profile: box.name, target: board.name }).planHash);
    expect(hashes.size).toBe(36);
  });
});

describe('defaults and merging', () => {
  it("defaults the target to the QEMU VM of the architecture and the arch to the board's", () => {
    expect(resolvePlan(c, { profile: 'tinybox' }).board.name).toBe('qemu-x86_64');
    expect(resolvePlan(c, { profile: 'tinybox', arch: 'aarch64' }).board.name).toBe('qemu-arm64');
    expect(resolvePlan(c, { profile: 'tinybox', target: 'visionfive2' }).arch).toBe('riscv64');
    expect(resolvePlan(c, { profile: 'tinybox', target: 'rpi5' }).outputs.image).toMatch(/dist\/tinybox-rpi5\.img$/);
  });

  it('records where each package came from and applies fragment requirements first', () => {
    const plan = resolvePlan(c, { profile: 'cryptobox', target: 'rpi5', fragments: ['mesh', 'media'] });
    expect(plan.fragments).toEqual(['base', 'mesh', 'media']);
    const from = Object.fromEntries(plan.packages.map((p) => [p.name, p.from]));
    expect(from.busybox).toEqual(['box:tinybox']);
    expect(from['wireguard-tools-wg']).toEqual(['box:cryptobox', 'fragment:mesh']);
    expect(from['linux-rpi']).toEqual(['board:rpi5']);
    expect(from.mpv).toEqual(['fragment:media']);
    expect(plan.feed?.repositories).toEqual(['main', 'community']);
    expect(plan.feed?.tagged).toEqual([]);
  });

  it("builds from Alpine's current stable branch unless another is asked for; testing only as a tagged repository", () => {
    const stable = resolvePlan(c, { profile: 'nexbox' });
    expect(stable.feed).toMatchObject({ branch: 'v3.24', repositories: ['main', 'community'], tagged: [] });
    expect(resolvePlan(c, { profile: 'tinybox', branch: 'v3.23' }).feed?.branch).toBe('v3.23');
    expect(resolvePlan(c, { profile: 'tinybox', branch: 'v3.23' }).planHash).not.toBe(resolvePlan(c, { profile: 'tinybox' }).planHash);
    // Pinning one package to @testing brings edge/testing in as a tagged repository only.
    const toy = resolvePlan(c, { profile: 'tinybox', fragments: ['toybox'] });
    expect(toy.packages.map((p) => p.name)).toContain('toybox@testing');
    expect(toy.feed).toMatchObject({
      branch: 'v3.24',
      repositories: ['main', 'community'],
      tagged: [{ tag: 'testing', branch: 'edge', repository: 'testing' }],
    });
    expect(() => resolvePlan(c, { profile: 'tinybox', branch: '3.24' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_BRANCH', hint: expect.stringContaining('v3.24, v3.23, edge') }),
    );
  });

  it('refuses an untagged testing repository and a tag the feed does not define, saying what to do instead', () => {
    const box = { ...c.boxes.get('tinybox')!, packages: ['busybox', 'dinit', 'foo@nightly'] };
    const withTag = { ...c, boxes: new Map([...c.boxes, ['tinybox', box]]) };
    expect(() => resolvePlan(withTag, { profile: 'tinybox' })).toThrow(
      expect.objectContaining({
        code: 'UNKNOWN_REPOSITORY_TAG',
        message: expect.stringContaining('foo@nightly'),
        hint: expect.stringContaining('@testing (testing of edge)'),
      }),
    );
    const r = BoxSchema.safeParse({ ...c.rawBoxes.get('tinybox'), repositories: ['main', 'testing'] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('exists only on edge: pin single packages to it with name@testing');
  });

  it('adds the board\'s firmware for a fragment: the PC\'s Wi-Fi chips with "wifi", never the 716 MiB firmware meta package', () => {
    const pc = resolvePlan(c, { profile: 'tinybox', target: 'pc', fragments: ['wifi'] });
    const from = Object.fromEntries(pc.packages.map((p) => [p.name, p.from]));
    expect(from['linux-firmware-intel']).toEqual(['board:pc']);
    expect(from['linux-firmware-none']).toEqual(['board:pc']);
    expect(resolvePlan(c, { profile: 'tinybox', target: 'pc' }).packages.map((p) => p.name)).not.toContain('linux-firmware-intel');
    for (const target of ['qemu-riscv64', 'visionfive2', 'pc'])
      expect(resolvePlan(c, { profile: 'tinybox', target }).packages.map((p) => p.name)).toContain('linux-firmware-none');
  });

  it("uses the Box's default fragments unless told otherwise, and none for an empty list", () => {
    expect(resolvePlan(c, { profile: 'tinybox', fragments: [] }).fragments).toEqual([]);
    expect(resolvePlan(c, { profile: 'tinybox', fragments: ['ssh'] }).fragments).toEqual(['base', 'ssh']);
  });

  it('lays out partitions per board: GPT+DPS types, MBR on the Pi, SPL and FIT first on the VisionFive 2', () => {
    const crypto = resolvePlan(c, { profile: 'cryptobox', target: 'qemu-x86_64' });
    expect(crypto.partitionTable).toBe('gpt');
    expect(crypto.partitions.map((p) => [p.role, p.type])).toEqual([
      ['esp', GPT_TYPES.esp],
      ['root', GPT_TYPES.root.x86_64],
      ['root-verity', GPT_TYPES.rootVerity.x86_64],
      ['state', GPT_TYPES.linuxData],
    ]);
    const tiny = resolvePlan(c, { profile: 'tinybox', target: 'qemu-arm64' });
    expect(tiny.partitions.map((p) => p.role)).toEqual(['esp']);
    const pi = resolvePlan(c, { profile: 'nexbox', target: 'rpi5' });
    expect(pi.partitionTable).toBe('mbr');
    // A writable ext4 root is the last partition, so the first boot can grow it to fill the card.
    expect(pi.partitions.map((p) => [p.role, p.type])).toEqual([
      ['boot', '0c'],
      ['state', '83'],
      ['root', '83'],
    ]);
    expect(pi.boot?.files.map((f) => f.dest)).toEqual(expect.arrayContaining(['config.txt', 'cmdline.txt', 'bcm2712-rpi-5-b.dtb', 'overlays/']));
    expect(pi.boot?.files.some((f) => /start.*\.elf/.test(f.dest))).toBe(false);
    const vf2 = resolvePlan(c, { profile: 'tinybox', target: 'visionfive2' });
    expect(vf2.partitions.slice(0, 2).map((p) => [p.index, p.role, p.type])).toEqual([
      [1, 'spl', '2E54B353-1271-4842-806F-E436D6AF6985'],
      [2, 'uboot', 'BC13C2FF-59E6-4262-A352-B275FD6F7172'],
    ]);
  });

  it('changes the hash with the customization but not with the output path', () => {
    const a = resolvePlan(c, { profile: 'tinybox', output: '/tmp/a.img' });
    const b = resolvePlan(c, { profile: 'tinybox', output: '/tmp/b.img' });
    const h = resolvePlan(c, { profile: 'tinybox', customization: { hostname: 'other' } });
    expect(a.planHash).toBe(b.planHash);
    expect(h.planHash).not.toBe(a.planHash);
    expect(a.customization.hostname).toBe('tinybox');
    expect(a.outputs).toMatchObject({
      checksum: '/tmp/a.img.sha256',
      bmap: '/tmp/a.bmap',
      manifest: '/tmp/a.manifest.json',
      lock: '/tmp/a.packages.lock.json',
    });
  });

  it("plans the spec's openbox command completely", () => {
    const plan = resolvePlan(c, { profile: 'openbox', arch: 'arm64', target: 'rpi5', fragments: ['base', 'mesh', 'media'], output: './dist/openbox-rpi5.img' });
    expect(plan.official).toMatchObject({ os: 'openbsd', arch: 'arm64', verification: 'signify' });
    expect(plan.official!.image).toMatch(/\.img$/);
    expect(plan.official!.packages).toEqual(['ffmpeg', 'mpv']);
    expect(plan.fragments).toEqual(['base', 'mesh', 'media']);
    expect(plan.notes.join(' ')).toMatch(/Pi 5/);
  });

  it('warns about choices that cannot work together: SSH keys without an SSH server, Wi-Fi without the wifi fragment', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl puffy@example';
    const wifi = { ssid: 'home', passphrase: 'correct horse', country: 'DE' };
    const bare = resolvePlan(c, { profile: 'tinybox', customization: { sshKeys: [key], wifi } });
    expect(bare.warnings).toEqual([
      expect.stringMatching(/no SSH server: add the "ssh" fragment/),
      expect.stringMatching(/Wi-Fi "home" .*add the "wifi" fragment/),
    ]);
    expect(resolvePlan(c, { profile: 'tinybox', fragments: ['ssh', 'wifi'], customization: { sshKeys: [key], wifi } }).warnings).toEqual([]);
    expect(resolvePlan(c, { profile: 'tinybox' }).warnings).toEqual([]);
    expect(resolvePlan(c, { profile: 'openbox', target: 'pc', customization: { sshKeys: [key] } }).warnings).toEqual([]); // OpenBSD always has sshd
  });

  it('keeps the Wi-Fi passphrase out of what is printed or saved, and out of reach of cheap guesses through the plan hash', () => {
    const withPass = (passphrase: string) =>
      resolvePlan(c, { profile: 'tinybox', fragments: ['wifi'], customization: { wifi: { ssid: 'IEEE', passphrase, country: 'DE' } } });
    const plan = withPass('password');
    expect(plan.customization.wifi?.passphrase).toBe('password'); // the image needs it
    const shown = redactSecrets(plan);
    expect(JSON.stringify(shown)).not.toContain('"password"');
    expect(shown.customization.wifi).toEqual({ ssid: 'IEEE', passphrase: REDACTED, country: 'DE' });
    expect(withPass('password2').planHash).not.toBe(plan.planHash);
    // The hash covers the WPA2 PSK (IEEE 802.11i test vector: "password" on SSID "IEEE"), not the passphrase:
    const psk = 'f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e';
    // (recipe repeats box.recipe and is not hashed a second time)
    const { planHash: _h, outputs: _o, recipe: _r, ...rest } = plan;
    const withPsk = { ...rest, customization: { ...rest.customization, wifi: { ssid: 'IEEE', passphrase: `passphrase-psk:${psk}`, country: 'DE' } } };
    expect(hashCanonical(withPsk)).toBe(plan.planHash);
    // ...and a raw PSK (written to the image as such) is a different plan from the passphrase it came from.
    expect(withPass(psk).planHash).not.toBe(plan.planHash);
  });

  it("gives openbox the board's OpenBSD notes, never the ones about Nexus' own Linux images", () => {
    const vf2 = resolvePlan(c, { profile: 'openbox', target: 'visionfive2' }).notes.join(' ');
    expect(vf2).toMatch(/QSPI/);
    expect(vf2).not.toMatch(/RGPIO_0=1/); // the Linux image's "boot from SD" switch setting
    expect(resolvePlan(c, { profile: 'openbox', target: 'pc' }).notes.join(' ')).not.toMatch(/unified kernel image/);
    expect(resolvePlan(c, { profile: 'tinybox', target: 'visionfive2' }).notes.join(' ')).toMatch(/RGPIO_0=1/);
    for (const board of c.boards.values()) expect(board.openbsd?.nextSteps.length, board.name).toBeGreaterThan(0);
  });
});

describe('refusals are clear and actionable', () => {
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e as { code: string; message: string; hint?: string };
    }
    throw new Error('expected an error');
  };
  it('unknown box suggests the closest name', () => {
    expect(err(() => resolvePlan(c, { profile: 'nexbx' }))).toMatchObject({ code: 'UNKNOWN_BOX', hint: expect.stringContaining('"nexbox"') });
  });
  it('unknown architecture, unknown board, board/architecture mismatch', () => {
    expect(err(() => resolvePlan(c, { profile: 'tinybox', arch: 'mips' }))).toMatchObject({ code: 'UNKNOWN_ARCH' });
    expect(err(() => resolvePlan(c, { profile: 'tinybox', target: 'rpi4' }))).toMatchObject({ code: 'UNKNOWN_BOARD', hint: expect.stringContaining('"rpi5"') });
    expect(err(() => resolvePlan(c, { profile: 'tinybox', arch: 'x86_64', target: 'rpi5' }))).toMatchObject({
      code: 'BOARD_ARCH_MISMATCH',
      message: expect.stringContaining('arm64'),
      hint: expect.stringContaining('--arch=arm64'),
    });
  });
  it('unknown fragment lists the known ones', () => {
    expect(err(() => resolvePlan(c, { profile: 'tinybox', fragments: ['base', 'meshh'] }))).toMatchObject({
      code: 'UNKNOWN_FRAGMENT',
      hint: expect.stringContaining('"mesh"'),
    });
  });
  it('an architecture the Box does not support', () => {
    const narrowed: Catalog = { ...c, boxes: new Map(c.boxes) };
    narrowed.boxes.set('tinybox', { ...c.boxes.get('tinybox')!, architectures: ['x86_64'] });
    expect(err(() => resolvePlan(narrowed, { profile: 'tinybox', arch: 'riscv64' }))).toMatchObject({
      code: 'ARCH_UNSUPPORTED',
      hint: expect.stringContaining('x86_64'),
    });
  });
  it('invalid customization names the field', () => {
    expect(err(() => resolvePlan(c, { profile: 'tinybox', customization: { hostname: 'bad_host!' } as never }))).toMatchObject({
      code: 'INVALID_CUSTOMIZATION',
      message: expect.stringContaining('hostname'),
    });
  });
});
