/** QEMU's user network for a VM: only when ports are forwarded, on 127.0.0.1, without the NIC's boot ROM. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { qemuSetup } from '../../../src-main/engine/vm/qemu';

describe.skipIf(!existsSync('/usr/share/OVMF/OVMF_CODE_4M.fd') && !existsSync('/usr/share/OVMF/OVMF_CODE.fd'))('qemu user network', () => {
  it('no network by default; forwarded ports bind to 127.0.0.1 on a virtio NIC without option ROM', () => {
    expect(qemuSetup('x86_64', '/x.img', '/v.fd').args.join(' ')).toContain('-net none');
    const args = qemuSetup('x86_64', '/x.img', '/v.fd', {
      forwardPorts: [
        { host: 2222, guest: 22 },
        { host: 8080, guest: 80 },
      ],
    }).args;
    expect(args.join(' ')).not.toContain('-net none');
    expect(args).toEqual(
      expect.arrayContaining([
        '-netdev',
        'user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80',
        '-device',
        'virtio-net-pci,netdev=net0,romfile=',
      ]),
    );
  });

  it('refuses something that is not a port, naming it', () => {
    expect(() => qemuSetup('x86_64', '/x.img', '/v.fd', { forwardPorts: [{ host: 70000, guest: 22 }] })).toThrow(/70000 → 22 is not a pair of TCP ports/);
  });
});
