/**
 * linbox's kiosk session built for qemu-arm64 and qemu-riscv64 (the CI-sized linbox of test/support/linbox-kiosk.ts:
 * cryptobox's packages plus greetd, seatd, cage, foot, fonts and the cache packages, with the kiosk fragment), from
 * the replica feed with the linbox pack: Alpine's metadata and scripts, Debian trixie payloads of that architecture.
 *
 * What a build proves without booting, per board: the installed set is the closure Alpine's own indexes give for
 * the plan; the ext4 root is clean under e2fsck -fn; greetd's generated config starts the kiosk session script as
 * the user, and the script is in place; cage, foot, greetd and seatd are ELF files of the board's machine whose
 * loader and libraries are all in the image; virtio_gpu and every module it depends on (the image's modules.dep)
 * are in the image.
 *
 * Then each image is booted once (qemu-arm64: AAVMF; qemu-riscv64: OpenSBI + U-Boot; TCG) with a virtio-gpu display,
 * and the screen is read over QMP while the session runs, as linbox-x86.test.ts does: foot's background (its
 * default colours read from the image's foot.ini) must cover most of the frame and its text be drawn; cage and foot
 * run as the user on that architecture's kernel; first boot ran fontconfig's, glib's and shared-mime-info's triggers
 * (this architecture's fc-cache, glib-compile-schemas, update-mime-database). About 55 s per boot here;
 * NEXUS_TEST_LINBOX_BOOT=0 skips both boots (the builds and their checks still run).
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composePlanOf } from '../../../src-shared/plan';
import { readElfDeps } from '../../../src-main/engine/image/elf';
import { bootTest, type BootTestResult } from '../../../src-main/engine/vm/boot-test';
import { colourShares, parsePpm, screendump, type Ppm } from '../../../src-main/engine/vm/qmp';
import { debianTestFeed } from '../../support/debian-test-feed';
import {
  buildFromTestFeed,
  consoleSession,
  extractPartition,
  readJson,
  readTable,
  sharedNexusCache,
  TEST_LOGIN,
  TEST_USER,
  type TestBuild,
} from '../../support/image-build';
import { ciLinboxPlan, expectFirstBootCaches, footDefaultColours, KIOSK_COMMANDS, KIOSK_UID as UID } from '../../support/linbox-kiosk';
import { realClosureNames } from '../../support/real-alpine-indexes';

/** Feed and VM arch, ELF e_machine, Debian's library folder and the firmware of each board. */
const BOARDS = {
  'qemu-arm64': { arch: 'aarch64', vmArch: 'arm64', machine: 183, triplet: 'aarch64-linux-gnu', firmware: 'AAVMF' },
  'qemu-riscv64': { arch: 'riscv64', vmArch: 'riscv64', machine: 243, triplet: 'riscv64-linux-gnu', firmware: 'OpenSBI + U-Boot' },
} as const;
type Board = keyof typeof BOARDS;
/** The session's programs, at Alpine's paths. */
const PROGRAMS = ['/usr/bin/cage', '/usr/bin/foot', '/usr/sbin/greetd', '/usr/bin/seatd'];
const BOOT = process.env.NEXUS_TEST_LINBOX_BOOT !== '0';
const SESSION = KIOSK_COMMANDS.session;
const HOLD = 'sleep 15; uname -m';
const KIOSK_LOG = `tail -n 20 /run/user/${UID}/kiosk.log`;
const { finalize: FINALIZE, caches: CACHES } = KIOSK_COMMANDS;

let dir: string;
beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('linbox-boards');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-linbox-boards-'));
});
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

/** debugfs on the extracted ext4 root (read-only). */
async function debugfs(root: string, request: string): Promise<string> {
  return (await execa('debugfs', ['-R', request, root])).stdout;
}
/** Names in a folder of the ext4 root (`ls -p`: /inode/mode/uid/gid/name/size/), or only its folders. */
async function names(root: string, folder: string, only?: 'dirs'): Promise<string[]> {
  return (await debugfs(root, `ls -p ${folder}`))
    .split('\n')
    .map((l) => l.split('/'))
    .filter((f) => !only || /^0?4\d{4}$/.test(f[2] ?? ''))
    .map((f) => f[5])
    .filter((n): n is string => !!n && n !== '.' && n !== '..');
}

describe.each(Object.keys(BOARDS) as Board[])('linbox (the kiosk session) built for %s', (board) => {
  const a = BOARDS[board];
  const image = () => join(dir, board, 'linbox.img');
  let build: TestBuild;
  let root: string;
  const seconds: Record<string, number> = {};

  beforeAll(async () => {
    await mkdir(join(dir, board), { recursive: true });
    let t = Date.now();
    const feed = await debianTestFeed(a.arch, { packs: ['linbox'] });
    seconds.feed = (Date.now() - t) / 1000;
    const plan = await ciLinboxPlan(board, image(), TEST_USER);
    t = Date.now();
    build = await buildFromTestFeed(plan, { feed });
    seconds.build = (Date.now() - t) / 1000;
    t = Date.now();
    const warm = await buildFromTestFeed(plan, { feed });
    seconds.warm = (Date.now() - t) / 1000;
    const table = await readTable(image());
    const fh = await open(image(), 'r');
    const ext4 = [];
    for (const e of table.entries) {
      const magic = Buffer.alloc(2);
      await fh.read(magic, 0, 2, e.startLba * 512 + 1024 + 56);
      if (magic.readUInt16LE(0) === 0xef53) ext4.push(e);
    }
    await fh.close();
    if (ext4.length !== 1) throw new Error(`expected one ext4 partition in the ${board} image, found ${ext4.length}`);
    root = await extractPartition(image(), ext4[0]!, join(dir, board, 'root.ext4'));
    const r = build.result;
    console.log(
      `linbox (session) ${board}: ${r.packageCount} packages, image ${r.size} bytes (${(await stat(image())).blocks * 512} allocated); ` +
        `feed ${seconds.feed} s, build ${seconds.build} s, rebuild ${seconds.warm} s (${warm.reused.length} stages reused: ${warm.reused.join(', ')})`,
    );
  }, 1_800_000);

  it("installs exactly the closure Alpine's own indexes give for the plan, with no kernel module missing", async () => {
    const lock = await readJson<{ packages: Array<{ name: string }> }>(build.result.files.find((f) => f.kind === 'lock')!.path);
    expect(lock.packages.map((p) => p.name).sort()).toEqual(await realClosureNames(composePlanOf(build.result.plan)));
    expect(lock.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['cage', 'foot', 'greetd', 'seatd', 'wlroots0.16', 'font-dejavu']));
    expect(build.result.warnings.filter((w) => /kernel modules not in/.test(w))).toEqual([]);
  });

  it('writes an ext4 root that e2fsck -fn finds clean', async () => {
    const r = await execa('e2fsck', ['-fn', root], { reject: false });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it("puts greetd's generated config (the kiosk session as the user, on VT 7) and the session script in place", async () => {
    const config = await debugfs(root, 'cat /etc/greetd/config.toml');
    expect(config).toContain(`[initial_session]\ncommand = "/etc/greetd/nexus-session"\nuser = "${TEST_LOGIN.user}"`);
    expect(config).toMatch(/^vt = 7$/m);
    expect(await debugfs(root, 'cat /etc/greetd/nexus-session')).toMatch(/^exec cage -d -s -- foot /m);
    expect(await debugfs(root, 'stat /etc/greetd/nexus-session')).toMatch(/Mode:\s+0755/);
    expect(await debugfs(root, 'cat /etc/group')).toMatch(new RegExp(`^seat:x:\\d+:.*\\b${TEST_LOGIN.user}\\b`, 'm'));
  });

  it(`has cage, foot, greetd and seatd as ${a.arch} ELF files whose loader and libraries are all in the image`, async () => {
    const libs = new Set([...(await names(root, `/usr/lib/${a.triplet}`)), ...(await names(root, `/lib/${a.triplet}`).catch(() => []))]);
    for (const p of PROGRAMS) {
      const out = join(dir, board, p.replace(/^.*\//, ''));
      await debugfs(root, `dump ${p} ${out}`);
      const bytes = await readFile(out);
      expect(bytes.subarray(0, 4).toString('latin1'), p).toBe('\x7fELF');
      expect(bytes.readUInt16LE(18), `${p}: e_machine`).toBe(a.machine);
      const deps = readElfDeps(bytes)!;
      expect(deps.interp, p).toBeTruthy();
      expect(await debugfs(root, `stat ${deps.interp}`), `${p}: loader ${deps.interp}`).toMatch(/^Inode: \d+/);
      expect(
        deps.needed.filter((l) => !libs.has(l)),
        `${p}: libraries missing from /usr/lib/${a.triplet}`,
      ).toEqual([]);
    }
  });

  // greetd opens a PAM session for the kiosk user; libpam dlopens the stacks' modules from the folder it was built
  // with (bookworm: /lib/<triplet>/security/, trixie: /usr/lib/<triplet>/security/), or greetd stops with MODULE_UNKNOWN.
  it("puts greetd's PAM modules (base-* stacks: pam_unix, pam_nologin) where the image's libpam looks for them", async () => {
    const lib = (await names(root, `/usr/lib/${a.triplet}`)).find((n) => /^libpam\.so\.0\.\d/.test(n));
    expect(lib, 'libpam.so.0.* in the image').toBeDefined();
    const out = join(dir, board, lib!);
    await debugfs(root, `dump /usr/lib/${a.triplet}/${lib} ${out}`);
    const folder = new RegExp(`/(?:usr/)?lib/${a.triplet}/security/`).exec((await readFile(out)).toString('latin1'))?.[0];
    expect(folder, "libpam's module folder").toBeDefined();
    for (const m of ['pam_unix.so', 'pam_nologin.so']) expect(await debugfs(root, `stat ${folder}${m}`), `${folder}${m}`).toMatch(/Type: regular/);
  });

  it('has virtio_gpu and every module it depends on (modules.dep) in the image', async () => {
    const [kver, ...others] = await names(root, '/lib/modules', 'dirs');
    expect(others).toEqual([]);
    const dep = await debugfs(root, `cat /lib/modules/${kver}/modules.dep`);
    const line = dep.split('\n').find((l) => /(^|\/)virtio[-_]gpu\.ko(\.gz)?:/.test(l));
    expect(line, 'virtio_gpu in modules.dep').toBeDefined();
    const [mod, rest = ''] = line!.split(':');
    const needed = [mod!, ...rest.trim().split(/\s+/).filter(Boolean)];
    expect(needed.length).toBeGreaterThan(1); // drm and its helpers at least
    for (const m of needed) expect(await debugfs(root, `stat /lib/modules/${kver}/${m}`), m).toMatch(/^Inode: \d+/);
  });

  describe.runIf(BOOT)(`booted once (${a.firmware}, TCG) with a virtio-gpu display`, () => {
    let boot: BootTestResult;
    let shot: Promise<Ppm | Error> | undefined;
    beforeAll(async () => {
      const qmp = join(dir, board, 'qmp.sock');
      const booted = Date.now();
      boot = await bootTest(image(), {
        arch: a.vmArch,
        display: 'virtio-gpu',
        qmpSocket: qmp,
        memoryMiB: 1024,
        timeoutSeconds: 900,
        onLine: (line) => {
          if (/^NEXUS-SESSION-42\s*$/.test(line) && !shot) {
            seconds.session = (Date.now() - booted) / 1000;
            shot = screendump(qmp, join(dir, board, 'session.ppm'))
              .then(async () => parsePpm(await readFile(join(dir, board, 'session.ppm'))))
              .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
          }
        },
        session: { ...consoleSession([SESSION, HOLD, FINALIZE, CACHES, KIOSK_LOG]), stepSeconds: 360 },
      });
      console.log(
        `linbox (session) ${board}: boot to the session on screen ${seconds.session ?? '-'} s, boot test ${boot.seconds} s\n` +
          (boot.commands ?? []).map((c) => `$ ${c.command}\n${c.output}\n(exit ${c.status})`).join('\n'),
      );
      if (!boot.passed)
        console.log(
          `boot failed (${boot.reason}); console log (end):\n${(await readFile(boot.log, 'utf8').catch(() => '')).split('\n').slice(-80).join('\n')}`,
        );
    }, 1_500_000);

    const out = (command: string) => {
      const c = boot.commands?.find((x) => x.command === command);
      if (!c) throw new Error(`"${command}" was not run (boot: ${boot.reason ?? 'passed'})`);
      return c;
    };

    it(`starts the session: cage and foot run as the user, greetd and seatd as root, on an ${a.arch} kernel`, () => {
      expect(boot).toMatchObject({ passed: true });
      const ps = out(SESSION).output;
      expect(ps).toMatch(new RegExp(`^${TEST_LOGIN.user}\\s+cage$`, 'm'));
      expect(ps).toMatch(new RegExp(`^${TEST_LOGIN.user}\\s+foot$`, 'm'));
      expect(ps).toMatch(/^root\s+greetd$/m);
      expect(ps).toMatch(/^root\s+seatd$/m);
      expect(out(HOLD).output).toMatch(new RegExp(`^${a.arch}$`, 'm'));
    });

    it("ran the packages' triggers on first boot: the font cache, the GSettings schemas and the MIME database", () => {
      expectFirstBootCaches(out(FINALIZE), out(CACHES));
    });

    it("shows the compositor's frame on the virtio-gpu head: foot's background covers the screen and its text is drawn", async () => {
      const f = await shot;
      if (!f) throw new Error(`no screendump was taken (boot: ${boot.reason ?? 'passed'})`);
      if (f instanceof Error) throw f;
      const shares = colourShares(f);
      // The colours this foot draws by default, from the foot.ini in the image (they differ between foot releases).
      const foot = footDefaultColours(await debugfs(root, 'cat /etc/xdg/foot/foot.ini'));
      console.log(
        `${board} session frame ${f.width}x${f.height}: ${shares
          .slice(0, 4)
          .map((s) => `${s.colour} ${(s.share * 100).toFixed(2)} % (${Math.round(s.share * f.width * f.height)} px)`)
          .join(', ')}; foot's defaults: background ${foot.background}, foreground ${foot.foreground}`,
      );
      expect(shares[0]).toMatchObject({ colour: foot.background });
      expect(shares[0]!.share).toBeGreaterThan(0.8);
      const text = shares.find((s) => s.colour === foot.foreground);
      expect((text?.share ?? 0) * f.width * f.height).toBeGreaterThan(100);
    });
  });
});
