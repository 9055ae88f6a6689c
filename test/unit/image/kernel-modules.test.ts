import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { findKernel, parseModinfoDepends, parseModinfoSoftdepPre, selectModules } from '../../../src-main/engine/image/kernel-modules';
import { elfSection, readElfDeps } from '../../../src-main/engine/image/elf';
import type { FsEntry, FsManifest } from '../../../src-main/engine/rootfs/entries';

const enc = (s: string) => new TextEncoder().encode(s);
function manifest(files: Record<string, string>, owner = 'linux-virt'): FsManifest {
  const m: FsManifest = new Map();
  for (const [path, text] of Object.entries(files)) {
    const data = enc(text);
    m.set(path, { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length, content: { kind: 'inline', data }, owner } satisfies FsEntry);
  }
  m.set('/lib/modules/6.1.0-virt', { path: '/lib/modules/6.1.0-virt', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0, owner });
  return m;
}
const D = '/lib/modules/6.1.0-virt';

describe('kernel modules', () => {
  it('reads depends= and softdep pre: from .modinfo', () => {
    const ko = enc('\x7fELF....\0license=GPL\0softdep=pre: crc32c\0depends=mbcache,jbd2\0vermagic=6.1\0');
    expect(parseModinfoDepends(ko)).toEqual(['mbcache', 'jbd2']);
    expect(parseModinfoSoftdepPre(ko)).toEqual(['crc32c']);
  });

  it('finds an ELF section by name, and gives null (never an exception) for a damaged or cut header', async () => {
    const elf = await readFile('/bin/true');
    const interp = readElfDeps(elf)?.interp;
    expect(interp).toMatch(/^\/lib/);
    expect(Buffer.from(elfSection(elf, '.interp')!).toString('latin1')).toBe(`${interp}\0`);
    expect(elfSection(elf, '.modinfo')).toBeNull();
    for (let cut = 0; cut < elf.length; cut += 97) expect(() => elfSection(elf.subarray(0, cut), '.interp')).not.toThrow();
    const bad = Buffer.from(elf);
    bad.writeUInt16LE(0xffff, 0x3e); // e_shstrndx past the section count
    expect(elfSection(bad, '.interp')).toBeNull();
  });

  it('orders dependencies and soft dependencies first, and reports built-in and missing names', async () => {
    const m = manifest({
      '/boot/vmlinuz-virt': 'kernel',
      [`${D}/kernel/fs/ext4/ext4.ko`]: '',
      [`${D}/kernel/fs/jbd2/jbd2.ko`]: '',
      [`${D}/kernel/fs/mbcache.ko`]: '',
      [`${D}/kernel/lib/libcrc32c.ko`]: '',
      [`${D}/kernel/crypto/crc32c_generic.ko`]: '',
      [`${D}/kernel/drivers/block/virtio_blk.ko`]: '',
      [`${D}/modules.dep`]:
        'kernel/fs/ext4/ext4.ko: kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\nkernel/fs/jbd2/jbd2.ko:\nkernel/fs/mbcache.ko:\nkernel/lib/libcrc32c.ko:\nkernel/crypto/crc32c_generic.ko:\nkernel/drivers/block/virtio_blk.ko:\n',
      [`${D}/modules.softdep`]: 'softdep libcrc32c pre: crc32c\n',
      [`${D}/modules.alias`]: 'alias crc32c crc32c_generic\n',
      [`${D}/modules.builtin`]: 'kernel/drivers/virtio/virtio_pci.ko\n',
    });
    const k = findKernel(m, 'linux-virt');
    expect(k.image.path).toBe('/boot/vmlinuz-virt');
    expect(k.moduleDir).toBe(D);
    const sel = await selectModules(m, k.moduleDir, ['ext4', 'libcrc32c', 'virtio-pci', 'nvme']);
    expect(sel.files.map((f) => f.slice(D.length + 1))).toEqual([
      'kernel/fs/mbcache.ko',
      'kernel/fs/jbd2/jbd2.ko',
      'kernel/fs/ext4/ext4.ko',
      'kernel/crypto/crc32c_generic.ko',
      'kernel/lib/libcrc32c.ko',
    ]);
    expect(sel.builtin).toEqual(['virtio_pci']);
    expect(sel.missing).toEqual(['nvme']);
  });

  it("without modules.dep and modules.alias, reads each module's .modinfo and prefers the generic provider of an alias", async () => {
    // As in Alpine's kernels: an alias has a CPU-specific and a generic provider (crc32c-intel / crc32c_generic on
    // x86_64, crct10dif-ce / crct10dif_generic on aarch64, where the specific one sorts first).
    const info = (...fields: string[]) => `\x7fELF....\0${fields.join('\0')}\0`;
    const m = manifest({
      '/boot/vmlinuz-virt': 'kernel',
      [`${D}/kernel/lib/libcrc32c.ko.gz`]: '',
      [`${D}/kernel/arch/x86/crypto/crc32c-intel.ko`]: info('alias=crypto-crc32c-intel', 'alias=crc32c', 'alias=crypto-crc32c', 'depends='),
      [`${D}/kernel/crypto/crc32c_generic.ko`]: info('alias=crypto-crc32c-generic', 'alias=crc32c', 'alias=crypto-crc32c', 'depends='),
      [`${D}/kernel/arch/arm64/crypto/crct10dif-ce.ko`]: info('alias=crypto-crct10dif', 'alias=crct10dif', 'depends='),
      [`${D}/kernel/crypto/crct10dif_generic.ko`]: info('alias=crypto-crct10dif', 'alias=crct10dif', 'depends='),
      [`${D}/kernel/lib/crc-t10dif.ko`]: info('softdep=pre: crct10dif', 'depends='),
      [`${D}/kernel/fs/f2fs/f2fs.ko`]: info('softdep=pre: crc32', 'depends=libcrc32c'),
      [`${D}/kernel/lib/crc32_generic.ko`]: info('alias=crc32', 'depends='),
    });
    // No directory entry for the module directory: it is found from the modules' paths.
    m.delete(D);
    // A gzip-compressed module, as Alpine ships them (.ko.gz): its .modinfo is read after inflating it.
    const gz = gzipSync(enc(info('softdep=pre: crc32c', 'depends=')));
    const lib = m.get(`${D}/kernel/lib/libcrc32c.ko.gz`);
    if (lib?.type !== 'file') throw new Error('fixture');
    m.set(lib.path, { ...lib, size: gz.length, content: { kind: 'inline', data: gz } });
    const k = findKernel(m, 'linux-virt');
    expect(k.moduleDir).toBe(D);
    expect(k.release).toBe('6.1.0-virt');
    const sel = await selectModules(m, k.moduleDir, ['f2fs', 'crc-t10dif']);
    expect(sel.files.map((f) => f.slice(D.length + 1))).toEqual([
      'kernel/crypto/crct10dif_generic.ko',
      'kernel/lib/crc-t10dif.ko',
      'kernel/lib/crc32_generic.ko',
      'kernel/crypto/crc32c_generic.ko',
      'kernel/lib/libcrc32c.ko.gz',
      'kernel/fs/f2fs/f2fs.ko',
    ]);
  });
});
