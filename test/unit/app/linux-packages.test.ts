/**
 * The Linux packages declare what the app uses at run time: hard dependencies only for flashing (pkexec,
 * util-linux); QEMU and its firmware, used only by the optional boot test and "Try in a VM", as recommendations,
 * kept in step with the host-tool registry and the firmware table the VM code looks up.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HOST_TOOLS } from '../../../src-main/engine/host-tools';
import { FIRMWARE } from '../../../src-main/engine/vm/qemu';

const ROOT = join(__dirname, '../../..');

describe('Linux packages (electron-builder.yml)', () => {
  it('the .deb recommends every QEMU package and firmware the VM code uses, and depends on none of them', async () => {
    const cfg = parse(await readFile(join(ROOT, 'electron-builder.yml'), 'utf8'));
    const qemu = HOST_TOOLS.filter((t) => t.command.startsWith('qemu-system-'));
    expect(qemu.length).toBe(3);
    for (const t of qemu) expect(t.optional, `${t.command} is optional`).toBe(true);
    const wanted = [...qemu.map((t) => t.packages.apt), ...Object.values(FIRMWARE).map((f) => f.pkg)];
    expect(new Set(cfg.deb.recommends)).toEqual(new Set(wanted));
    for (const d of cfg.deb.depends as string[]) expect(wanted).not.toContain(d);
  });

  it('the .rpm recommends the Fedora QEMU packages through fpm tags, and no build tool is a hard dependency', async () => {
    const cfg = parse(await readFile(join(ROOT, 'electron-builder.yml'), 'utf8'));
    const fpm: string[] = cfg.rpm.fpm;
    const tags = fpm.filter((_, i) => fpm[i - 1] === '--rpm-tag');
    expect(tags.length * 2).toBe(fpm.length);
    for (const t of tags) expect(t).toMatch(/^Recommends: [a-z0-9-]+$/);
    expect(tags).toContain('Recommends: qemu-system-x86-core');
    // Building an image needs no host program: nothing from the build's tool list is a package dependency.
    const buildPkgs = ['e2fsprogs', 'erofs-utils', 'f2fs-tools', 'dosfstools', 'mtools', 'cryptsetup-bin', 'binutils', 'zstd', 'xz-utils'];
    for (const d of [...cfg.deb.depends, ...cfg.rpm.depends, ...(cfg.deb.recommends as string[])]) expect(buildPkgs).not.toContain(d);
  });
});
