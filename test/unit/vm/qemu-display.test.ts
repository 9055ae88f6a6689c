/** The VM's display and QMP socket (qemu.ts) and reading QEMU's screendump (qmp.ts). */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qemuSetup, type QemuDisplay } from '../../../src-main/engine/vm/qemu';
import { colourShares, parsePpm, qmpCommands } from '../../../src-main/engine/vm/qmp';

const hasOvmf = existsSync('/usr/share/OVMF/OVMF_CODE_4M.fd') || existsSync('/usr/share/OVMF/OVMF_CODE.fd');

describe.skipIf(!hasOvmf)('qemu display and QMP options', () => {
  it('no display card by default; virtio-gpu adds a virtio-gpu-pci card; QMP listens on a Unix socket without waiting', () => {
    expect(qemuSetup('x86_64', '/x.img', '/v.fd').args.join(' ')).not.toMatch(/virtio-gpu|-qmp/);
    const args = qemuSetup('x86_64', '/x.img', '/v.fd', { display: 'virtio-gpu', qmpSocket: '/tmp/vm/qmp.sock' }).args.join(' ');
    expect(args).toContain('-vga none -device virtio-gpu-pci'); // the only card: screendump reads its head
    expect(args).toContain('-qmp unix:/tmp/vm/qmp.sock,server=on,wait=off');
  });

  it('refuses an unknown display and a QMP path QEMU would misread', () => {
    expect(() => qemuSetup('x86_64', '/x.img', '/v.fd', { display: 'vga' as QemuDisplay })).toThrow(/"vga" is not a VM display \(known: none, virtio-gpu\)/);
    expect(() => qemuSetup('x86_64', '/x.img', '/v.fd', { qmpSocket: '/tmp/a,server=off' })).toThrow(/must be absolute and contain no comma/);
    expect(() => qemuSetup('x86_64', '/x.img', '/v.fd', { qmpSocket: 'qmp.sock' })).toThrow(/must be absolute/);
  });
});

describe('screendump pixels', () => {
  it('parses a P6 PPM and ranks its colours', () => {
    const px = Buffer.from([0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0xff, 0xff, 0xff]);
    const img = parsePpm(Buffer.concat([Buffer.from('P6\n2 2\n255\n'), px]));
    expect(img).toMatchObject({ width: 2, height: 2 });
    expect(colourShares(img)).toEqual([
      { colour: '#111111', share: 0.75 },
      { colour: '#ffffff', share: 0.25 },
    ]);
    expect(() => parsePpm(Buffer.from('P3\n2 2\n255\n'))).toThrow(/binary PPM/);
    expect(() => parsePpm(Buffer.concat([Buffer.from('P6\n2 2\n255\n'), px.subarray(0, 6)]))).toThrow(/cut short/);
  });

  it('talks QMP: greeting, capabilities, then the command; a refused command is an error naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nexus-qmp-'));
    const path = join(dir, 'qmp.sock');
    const seen: string[] = [];
    const server = createServer((sock) => {
      sock.write('{"QMP": {"version": {}, "capabilities": []}}\r\n');
      sock.on('data', (d) => {
        for (const line of d.toString().split('\n').filter(Boolean)) {
          const { execute } = JSON.parse(line) as { execute: string };
          seen.push(execute);
          if (execute === 'bogus') sock.write('{"error": {"class": "CommandNotFound", "desc": "The command bogus has not been found"}}\r\n');
          else sock.write('{"event": "RESUME", "data": {}}\r\n{"return": {}}\r\n');
        }
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      expect(await qmpCommands(path, [{ execute: 'screendump', arguments: { filename: '/tmp/x.ppm' } }])).toEqual([{}]);
      expect(seen).toEqual(['qmp_capabilities', 'screendump']);
      await expect(qmpCommands(path, [{ execute: 'bogus' }])).rejects.toThrow(/QEMU refused bogus: The command bogus has not been found/);
      await expect(qmpCommands(join(dir, 'none.sock'), [{ execute: 'screendump' }])).rejects.toThrow(/control socket/);
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
