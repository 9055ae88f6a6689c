/**
 * The desktop session glue the configure stage adds (config/desktop-session.ts): greetd's config starting the
 * Box user's session script on seat0, and the user's seat/video/input memberships; only with greetd installed,
 * a session script in the plan and a user.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { desktopSessionAccounts, desktopSessionEntries, GREETD_CONFIG, SESSION_SCRIPT } from '../../../src-main/engine/image/config/desktop-session';
import { resolvePlan } from '../../../src-main/engine/plan/resolve';
import { diskInit, ramInit } from '../../../src-main/engine/image/config/scripts';

const user = { name: 'ada', passwordHash: '$6$nexustestsalt$NQ5TG78BrxYhodQCV2EdFN887qXbXXbtKTJu77.aTEAl5BjIXV57zECHWqKdrd36HZT2V5U5uCPb6ryH23smc0' };
const plan = async (fragments: string[], withUser = true) =>
  resolvePlan(await loadCatalog(), {
    profile: 'linbox',
    target: 'qemu-x86_64',
    fragments,
    output: '/tmp/linbox.img',
    ...(withUser ? { customization: { user } } : {}),
  });

describe('desktop session glue', () => {
  it("linbox with the kiosk fragment: greetd's initial session runs the kiosk script as the user on VT 7", async () => {
    const p = await plan(['kiosk']);
    expect(p.files.map((f) => f.path)).toContain(SESSION_SCRIPT);
    const [config, ...rest] = desktopSessionEntries(p, new Set(['greetd', 'seatd', 'cage']));
    expect(rest).toEqual([]);
    expect(config!.path).toBe(GREETD_CONFIG);
    const text = String(config!.content);
    expect(text).toContain('[terminal]\nvt = 7\n');
    expect(text).toContain('[initial_session]\ncommand = "/etc/greetd/nexus-session"\nuser = "ada"\n');
    // Without a greeter installed, a session that ends starts again (a kiosk); with agreety, later logins get a prompt.
    expect(text).toContain('[default_session]\ncommand = "/etc/greetd/nexus-session"\nuser = "ada"\n');
    const greeter = String(desktopSessionEntries(p, new Set(['greetd', 'greetd-agreety']))[0]!.content);
    expect(greeter).toContain('[default_session]\ncommand = "agreety --cmd /bin/sh"\nuser = "greetd"\n');
    expect(desktopSessionAccounts(p, new Set(['greetd'])).map((e) => `${e.kind} ${'user' in e ? e.user : ''} ${'group' in e ? e.group : ''}`)).toEqual([
      'group-member ada seat',
      'group-member ada video',
      'group-member ada input',
    ]);
  });

  it('adds nothing without the session script, without greetd or without a user', async () => {
    expect(desktopSessionEntries(await plan([]), new Set(['greetd']))).toEqual([]);
    expect(desktopSessionEntries(await plan(['kiosk']), new Set(['seatd']))).toEqual([]);
    expect(desktopSessionEntries(await plan(['kiosk'], false), new Set(['greetd']))).toEqual([]);
    expect(desktopSessionAccounts(await plan(['kiosk'], false), new Set(['greetd']))).toEqual([]);
  });

  it('linbox runs seatd with its socket in group seat, makes /run/user/UID, and greetd waits for both', async () => {
    const p = await plan(['kiosk']);
    const svc = Object.fromEntries(p.services.map((s) => [s.name, s]));
    expect(svc.seatd!.command).toBe('/usr/bin/seatd -g seat');
    expect(svc['user-runtime-dir']).toMatchObject({ type: 'scripted', command: '/usr/libexec/nexus/user-runtime-dir' });
    expect(svc.greetd!.dependsOn).toEqual(['seatd', 'user-runtime-dir']);
    expect(p.kernelModules).toContain('virtio_gpu');
  });

  it('every init mounts devpts (a terminal emulator needs a pseudo-terminal) and /dev/shm before dinit starts', () => {
    for (const script of [
      ramInit('/usr/sbin/dinit'),
      diskInit({ verity: false, stateMountpoint: null }),
      diskInit({ verity: true, stateMountpoint: '/var/lib/nexus/state' }),
    ]) {
      expect(script).toMatch(/^mount -t devpts -o nosuid,noexec,mode=0620,ptmxmode=0666 devpts \/dev\/pts/m);
      expect(script).toMatch(/^mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs \/dev\/shm/m);
    }
  });
});
