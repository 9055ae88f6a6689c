// A real third-party hybrid ISO (Debian's ipxe.iso, apt package "ipxe") written with the real CLI
// (`nexus flash` as root, loop device via the NEXUS_EXTRA_DRIVES test hook), checked with
// `nexus verify`, then booted from the loop device in QEMU (TCG) until iPXE's banner is on serial.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FlashResult } from '../../../src-shared/flash';
import { nexus } from '../../support/run-cli';
import { LoopSet } from '../../support/loop-devices';

const ISO = process.env.NEXUS_IPXE_ISO ?? '/usr/lib/ipxe/ipxe.iso';
const loops = new LoopSet();
afterAll(() => loops.detachAll());

describe('real image: ipxe.iso', () => {
  it('flashes, verifies and boots in QEMU', { timeout: 120_000 }, async () => {
    expect(existsSync(ISO), `${ISO} missing: apt-get install ipxe (listed in .ci/apt-packages.txt)`).toBe(true);
    const t = await loops.create(16 << 20);
    const env = { NEXUS_EXTRA_DRIVES: t.device };

    const flashRun = await nexus(['flash', ISO, '--drive', t.device, '--yes', '--json'], { env });
    expect(flashRun.code, `${flashRun.stderr}\n${flashRun.stdout.slice(-2000)}`).toBe(0);
    const result = FlashResult.parse(JSON.parse(flashRun.stdout.trim().split('\n').at(-1)!));
    expect(result.targets[0]).toMatchObject({ status: 'done', verified: true, state: 'image' });

    const verifyRun = await nexus(['verify', ISO, '--drive', t.device, '--json'], { env });
    expect(verifyRun.code, verifyRun.stderr).toBe(0);
    expect(JSON.parse(verifyRun.stdout)).toMatchObject({ ok: true });

    const qemu = execa('qemu-system-x86_64', ['-m', '256', '-nographic', '-no-reboot', '-drive', `file=${t.device},format=raw,if=ide`, '-net', 'none'], {
      reject: false,
      stdin: 'ignore',
      buffer: false,
      timeout: 90_000,
    });
    let out = '';
    const banner = /Open Source Network Boot Firmware/;
    try {
      for await (const chunk of qemu.iterable({ binary: true, preserveNewlines: true })) {
        out += Buffer.from(chunk).toString('latin1');
        if (banner.test(out)) break;
      }
    } finally {
      qemu.kill('SIGKILL');
      await qemu;
    }
    expect(out).toMatch(/Booting from Hard Disk/);
    expect(out).toMatch(banner);
  });
});
