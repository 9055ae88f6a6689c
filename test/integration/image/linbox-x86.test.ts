/**
 * linbox's Wayland session on qemu-x86_64, booted once with a virtio-gpu display: greetd logs the user in on seat0
 * at boot (the kiosk fragment's initial session), seatd hands cage the GPU, cage shows foot full screen, and the
 * test reads the screen through QEMU's QMP `screendump` while the VM runs.
 *
 * WHAT IS BUILT (the full linbox closure — Plasma, Firefox, niri, 500+ packages — is too large for CI): the CI-sized
 * linbox of test/support/linbox-kiosk.ts (linbox with the kiosk fragment, its packages replaced by cryptobox's plus
 * the session's), the same as linbox-boards.test.ts builds for arm64 and riscv64. Packages come from the replica
 * feed with the linbox pack (Alpine's metadata and scripts; Debian payloads).
 *
 * Checked in the one boot: the screen is read over QMP while the session runs (foot's background must cover most of
 * it, and its prompt be drawn); over the serial console (root): cage and foot run as the user, greetd and seatd as
 * root, the user is in seat, greetd's generated config starts the user's session, and the first-boot finalizer ran
 * fontconfig's, glib's and shared-mime-info's triggers (font cache, gschemas.compiled, mime.cache).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composePlanOf } from '../../../src-shared/plan';
import { bootTest, type BootTestResult } from '../../../src-main/engine/vm/boot-test';
import { colourShares, parsePpm, screendump, type Ppm } from '../../../src-main/engine/vm/qmp';
import { debianTestFeed } from '../../support/debian-test-feed';
import { buildFromTestFeed, consoleSession, readJson, sharedNexusCache, TEST_LOGIN, TEST_USER, type TestBuild } from '../../support/image-build';
import { realClosureNames } from '../../support/real-alpine-indexes';
import { ciLinboxPlan, expectFirstBootCaches, KIOSK_COMMANDS, KIOSK_UID as UID } from '../../support/linbox-kiosk';

/** foot's default background (foot.ini: `background=111111`), which fills the frame around the text. */
const FOOT_BACKGROUND = '#111111';
/** foot's default foreground (foot.ini: `foreground=dcdccc`). */
const FOOT_FOREGROUND = '#dcdccc';

const C = {
  // Up to 5 min: first boot runs the finalizer and the vault's creation before greetd's session is on screen.
  session: KIOSK_COMMANDS.session,
  hold: 'sleep 20',
  // What the kernel scans out: the primary plane's framebuffer and who allocated it (DRM's debugfs state).
  kms: "mount -t debugfs none /sys/kernel/debug 2>/dev/null; grep -A4 '^plane\\[[0-9]*\\]: plane-0' /sys/kernel/debug/dri/0/state; cat /sys/class/tty/tty0/active",
  finalize: KIOSK_COMMANDS.finalize,
  caches: KIOSK_COMMANDS.caches,
  accounts: `id ${TEST_LOGIN.user}; cat /etc/greetd/config.toml; stat -c '%U %a' /run/user/${UID}`,
  log: `cat /run/user/${UID}/kiosk.log | tail -n 20`,
};

let dir: string;
let build: TestBuild;
let boot: BootTestResult;
let shot: Promise<Ppm | Error> | undefined;
const seconds: Record<string, number> = {};

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('linbox-x86');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-linbox-'));
  let t = Date.now();
  const feed = await debianTestFeed('x86_64', { packs: ['linbox'] });
  seconds.feed = (Date.now() - t) / 1000;
  // The CI-sized linbox (see the header and test/support/linbox-kiosk.ts).
  const plan = await ciLinboxPlan('qemu-x86_64', join(dir, 'linbox.img'), TEST_USER);
  t = Date.now();
  build = await buildFromTestFeed(plan, { feed });
  seconds.build = (Date.now() - t) / 1000;
  t = Date.now();
  const warm = await buildFromTestFeed(plan, { feed });
  seconds.warm = (Date.now() - t) / 1000;
  seconds.reused = warm.reused.length;

  const qmp = join(dir, 'qmp.sock');
  const grab = () =>
    screendump(qmp, join(dir, 'session.ppm'))
      .then(async () => parsePpm(await readFile(join(dir, 'session.ppm'))))
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  let sessionAt = 0;
  const booted = Date.now();
  boot = await bootTest(join(dir, 'linbox.img'), {
    arch: 'x86_64',
    display: 'virtio-gpu',
    qmpSocket: qmp,
    memoryMiB: 1024,
    timeoutSeconds: 900,
    onLine: (line) => {
      if (/^NEXUS-SESSION-42\s*$/.test(line) && !shot) {
        sessionAt = (Date.now() - booted) / 1000;
        shot = grab();
      }
    },
    session: { ...consoleSession([C.session, C.hold, C.kms, C.finalize, C.caches, C.accounts, C.log]), stepSeconds: 420 },
  });
  seconds.session = sessionAt;
  const r = build.result;
  console.log(
    `linbox (session) qemu-x86_64: ${r.packageCount} packages, image ${r.size} bytes (${(await stat(join(dir, 'linbox.img'))).blocks * 512} allocated); ` +
      `feed ${seconds.feed} s, build ${seconds.build} s, rebuild ${seconds.warm} s (${seconds.reused} stages reused); boot to the session on screen ${sessionAt} s, boot test ${boot.seconds} s\n` +
      (boot.commands ?? []).map((c) => `$ ${c.command}\n${c.output}\n(exit ${c.status})`).join('\n'),
  );
  if (!boot.passed)
    console.log(`boot failed (${boot.reason}); console log (end):\n${(await readFile(boot.log, 'utf8').catch(() => '')).split('\n').slice(-80).join('\n')}`);
}, 2_400_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const out = (command: string) => {
  const c = boot.commands?.find((x) => x.command === command);
  if (!c) throw new Error(`"${command}" was not run (boot: ${boot.reason ?? 'passed'})`);
  return c;
};
async function frame(): Promise<Ppm> {
  const f = await shot;
  if (!f) throw new Error(`no screendump was taken (boot: ${boot.reason ?? 'passed'})`);
  if (f instanceof Error) throw f;
  return f;
}

describe('linbox (the kiosk session) on qemu-x86_64 with virtio-gpu', () => {
  it('boots, and QEMU hands the test the screen of the running session (1280x800 from virtio-gpu, over QMP)', async () => {
    expect(boot).toMatchObject({ passed: true });
    const f = await frame();
    expect([f.width, f.height]).toEqual([1280, 800]);
    console.log(
      `session frame ${f.width}x${f.height}: ${colourShares(f)
        .slice(0, 4)
        .map((s) => `${s.colour} ${(s.share * 100).toFixed(1)} %`)
        .join(', ')}`,
    );
  });

  it("puts the compositor's framebuffer on the display: the primary plane scans out a buffer cage allocated, on VT 7", () => {
    const k = out(C.kms);
    expect(k.output).toMatch(/plane-0\n\s+crtc=crtc-0\n\s+fb=\d+\n\s+allocated by = cage$/m);
    expect(k.output).toMatch(/^tty7$/m);
  });

  // QEMU's screendump reads its first console: the VM must have no other card (qemu.ts drops x86's default VGA
  // for virtio-gpu, whose head otherwise showed only the firmware framebuffer's text console: black, a cursor).
  it("shows the compositor's frame: foot's background covers the screen and its text (the shell's prompt) is drawn", async () => {
    const shares = colourShares(await frame());
    expect(shares[0]).toMatchObject({ colour: FOOT_BACKGROUND });
    expect(shares[0]!.share).toBeGreaterThan(0.8);
    // The prompt: a few hundred pixels of foot's foreground, more than a cursor block (fbcon's is 8x2).
    const text = shares.find((s) => s.colour === FOOT_FOREGROUND);
    expect((text?.share ?? 0) * 1280 * 800).toBeGreaterThan(100);
  });

  it('runs cage and foot as the user, greetd and seatd as root; the user is in seat; greetd starts their session', () => {
    const ps = out(C.session).output;
    expect(ps).toMatch(new RegExp(`^${TEST_LOGIN.user}\\s+cage$`, 'm'));
    expect(ps).toMatch(new RegExp(`^${TEST_LOGIN.user}\\s+foot$`, 'm'));
    expect(ps).toMatch(/^root\s+greetd$/m);
    expect(ps).toMatch(/^root\s+seatd$/m);
    const a = out(C.accounts).output;
    expect(a).toMatch(/groups=.*\bseat\b/);
    expect(a).toContain(`[initial_session]\ncommand = "/etc/greetd/nexus-session"\nuser = "${TEST_LOGIN.user}"`);
    expect(a).toMatch(new RegExp(`^${TEST_LOGIN.user} 700$`, 'm'));
  });

  it("ran the packages' triggers on first boot: the font cache, the GSettings schemas and the MIME database", () => {
    expectFirstBootCaches(out(C.finalize), out(C.caches));
  });

  it("installs exactly the closure Alpine's own indexes give (signed v3.23.4 main + v3.19.1 community, v3.24 dinit)", async () => {
    const lock = await readJson<{ packages: Array<{ name: string }> }>(build.result.files.find((f) => f.kind === 'lock')!.path);
    expect(lock.packages.map((p) => p.name).sort()).toEqual(await realClosureNames(composePlanOf(build.result.plan)));
    expect(build.result.warnings.filter((w) => /kernel modules not in/.test(w))).toEqual([]);
  });
});
