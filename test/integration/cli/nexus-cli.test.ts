import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BuildPlanSchema } from '../../../src-shared/plan';
import { nexus } from '../../support/run-cli';

describe('nexus CLI (foundation)', () => {
  it('lists the profiles as a table and as JSON', async () => {
    const human = await nexus(['build', '--list-profiles']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^NAME\s+TIER\s+NICKNAME\s+ARCHITECTURES\s+PACKAGES\s+SIZE/m);
    expect(human.stdout).toMatch(/^tinybox\s+STC-1\s+The Spark\s+x86_64,arm64,riscv64\s+≤ 9\s+8-12 MiB/m);
    expect(human.stdout).toMatch(/^linbox\s+STC-5\s+The Station\s+x86_64,arm64,riscv64\s+≥ 501\s+/m);
    const json = await nexus(['build', '--list-profiles', '--json']);
    expect(JSON.parse(json.stdout).map((r: { name: string }) => r.name)).toEqual(['tinybox', 'cryptobox', 'dragonbox', 'nexbox', 'linbox', 'openbox']);
  });

  it("prints a complete plan for the spec's openbox command", async () => {
    const r = await nexus([
      'build',
      '--profile=openbox',
      '--arch=arm64',
      '--target=rpi5',
      '--fragments=base,mesh,media',
      '--output=./dist/openbox-rpi5.img',
      '--plan',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const plan = BuildPlanSchema.parse(JSON.parse(r.stdout));
    expect(plan).toMatchObject({
      box: { name: 'openbox', recipe: 'official-image' },
      arch: 'arm64',
      board: { name: 'rpi5' },
      fragments: ['base', 'mesh', 'media'],
    });
    expect(plan.outputs.image).toMatch(/\/dist\/openbox-rpi5\.img$/);
  });

  it('prints a human plan with customization flags applied (and never a password)', async () => {
    const hash = '$6$saltsalt$' + 'b'.repeat(86);
    const r = await nexus([
      'build',
      '--profile=cryptobox',
      '--target=rpi5',
      '--hostname=vault-pi',
      '--user=alice',
      `--password-hash=${hash}`,
      '--timezone=Europe/Berlin',
      '--plan',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Box\s+cryptobox \(STC-2, "The Vault"\)\s+chain: tinybox → cryptobox/);
    expect(r.stdout).toMatch(/Host\s+vault-pi, user alice \(password set\)/);
    expect(r.stdout).not.toContain(hash);
  });

  it('exits non-zero with a message and a hint on bad input', async () => {
    const unknown = await nexus(['build', '--profile=tinybx', '--plan']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/There is no Box called "tinybx"[\s\S]*hint: Did you mean "tinybox"/);
    const mismatch = await nexus(['build', '--profile=tinybox', '--arch=x86_64', '--target=rpi5', '--plan', '--json']);
    expect(mismatch.code).toBe(1);
    expect(JSON.parse(mismatch.stdout)).toMatchObject({ ok: false, error: { code: 'BOARD_ARCH_MISMATCH' } });
    const noProfile = await nexus(['build', '--plan']);
    expect(noProfile.code).toBe(2);
    expect(noProfile.stderr).toMatch(/--profile/);
    const badFlag = await nexus(['build', '--profle=tinybox']);
    expect(badFlag.code).toBe(2);
  });

  it('has --help on every command', async () => {
    const top = await nexus(['--help']);
    expect(top.code).toBe(0);
    const commands = [...top.stdout.matchAll(/^\s{2}([a-z]+)(?: \[options\]| <|\s|$)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['build', 'profiles', 'doctor']));
    for (const c of commands) {
      const r = await nexus([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(/Usage: nexus/);
    }
  });

  it('shows a merged Box and checks the catalog', async () => {
    const show = await nexus(['profiles', 'show', 'dragonbox', '--json']);
    expect(show.code).toBe(0);
    const box = JSON.parse(show.stdout);
    expect(box.packages).toEqual(expect.arrayContaining(['busybox', 'dinit', 'cryptsetup', 'containerd', 'runc', 'cni-plugins']));
    const check = await nexus(['profiles', 'check']);
    expect(check.stdout).toMatch(/catalog OK: 6 boxes, 6 boards/);
  });

  it('doctor lists tools with install hints', async () => {
    const r = await nexus(['doctor', '--json'], { env: { PATH: '/nonexistent' } });
    const rows = JSON.parse(r.stdout) as Array<{ command: string; path: string | null; install: string }>;
    const mke2fs = rows.find((x) => x.command === 'mke2fs')!;
    expect(r.code).toBe(1);
    expect(rows.length).toBeGreaterThan(5);
    expect(mke2fs.install).toMatch(/apt-get install e2fsprogs/);
  });

  it('serve: a port in use is a clear error with a hint', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    try {
      const r = await nexus(['serve', `--port=${(busy.address() as AddressInfo).port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/already in use.*\n {2}hint: .*--port/);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });
});
