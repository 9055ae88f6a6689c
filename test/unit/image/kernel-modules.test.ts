import { describe, expect, it } from 'vitest';
import { findKernel, parseModinfoDepends, parseModinfoSoftdepPre, selectModules } from '../../../src-main/engine/image/kernel-modules';
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
});
