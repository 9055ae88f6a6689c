/**
 * nexbox doing its job, for the per-architecture VM tests (nexbox-*.test.ts). Built from the replica feed (base +
 * dragonbox + nexbox packs: Alpine's metadata, Debian payloads of the arch, the real apk-tools built or
 * cross-built for it), then checked as a build (Alpine's closure, the ext4 root clean, every ELF file of the arch)
 * and, where booted, written to a "medium" 1 GiB larger than the image (a sparse copy, booted writable) and used on
 * the console as root, whose login shell is zsh: the root has grown to fill the medium (first-boot sfdisk +
 * resize2fs), apk audit finds the installed files as its database lists them, gcc compiles and runs a C program,
 * python3 runs, git commits, and apk — with the repositories, keys and installed database Nexus wrote — adds one
 * of Alpine's own signed packages from a local repository served over HTTP to the VM (QEMU user network, the host
 * at 10.0.2.2), without touching anything already installed.
 */
import { execa } from 'execa';
import { lstat, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composePlanOf } from '../../src-shared/plan';
import { bootTest, type BootTestResult } from '../../src-main/engine/vm/boot-test';
import { gzipMembers, parseIndexText, parseTar, readRealApk, realIndexV3234 } from './alpine-real';
import { alpineTestdata } from './alpine-testdata';
import { writeApkRepo } from './apk-repo';
import { debianTestFeed, FEED_BRANCH, type FeedArch, type TestFeed } from './debian-test-feed';
import { serveDirectory, type TestHttpServer } from './http-server';
import {
  buildFromTestFeed,
  consoleSession,
  extractPartition,
  FEED_ARCH,
  freePort,
  planFor,
  readJson,
  readTable,
  sharedNexusCache,
  TEST_LOGIN,
  TEST_USER,
  type TestBuild,
} from './image-build';
import { realClosureNames } from './real-alpine-indexes';

export type NexboxTarget = 'qemu-x86_64' | 'qemu-arm64' | 'qemu-riscv64';

const GROWN_BY = 1024 * 1024 * 1024;
/** ELF e_machine of each feed arch (EM_X86_64, EM_AARCH64, EM_RISCV). */
const ELF_MACHINE: Record<FeedArch, number> = { x86_64: 62, aarch64: 183, riscv64: 243 };

const HELLO_C = '#include <stdio.h>\\nint main(void) { printf("forged %%d\\\\n", 6 * 7); return 0; }\\n';
export const C = {
  shell: 'cat /proc/$$/comm; uname -m; grep -E "^(root|ada):" /etc/passwd; grep zsh /etc/shells',
  grown: 'cat /var/log/nexus-grow-root.log; cat /var/lib/nexus/grow-root.done; df -k / | tail -n 1',
  gcc: `printf '${HELLO_C}' > /tmp/hello.c && gcc -O2 -Wall -o /tmp/hello /tmp/hello.c && /tmp/hello`,
  nvim: "nvim --headless --clean -c 'normal! iforged in nvim' -c 'wq /tmp/nvim.txt' && echo && cat /tmp/nvim.txt",
  python: 'python3 -c "import sys, os; print(\'python\', sys.version_info[0], sum(range(10)), os.uname().sysname)"',
  git: 'mkdir -p /root/forge && cd /root/forge && git init -q && git config user.email ada@example.org && git config user.name Ada && cp /tmp/hello.c . && git add hello.c && git commit -q -m "first forge" && git --no-pager log --oneline && cd /',
  apkConfig: 'cat /etc/apk/repositories; ls /etc/apk/keys; wc -l < /etc/apk/world; apk info -e musl gcc zsh',
  // Before anything else writes to the root: every file apk's database lists is as it says (content, mode, owner).
  audit:
    "apk audit --system --check-permissions > /tmp/audit.txt 2>&1; grep -E '^[UMxXe] ' /tmp/audit.txt | head -n 20; echo \"audit-bad=$(grep -cE '^[UMxXe] ' /tmp/audit.txt)\"",
  net: 'ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2',
  apkAdd: (url: string, extra: LocalPackage) =>
    `echo ${url}/${FEED_BRANCH}/community > /etc/apk/repositories && apk update && apk add ${extra.name} && ${extra.check} && apk info -e ${extra.name}`,
};

/** The package apk adds from the local repository: one of Alpine's own signed .apk files, byte for byte. */
interface LocalPackage {
  name: string;
  version: string;
  file: string;
  /** Where its stanza comes from (a signed Alpine index) and the stanza. */
  stanza: () => Promise<Record<string, string>>;
  /** What the user runs to see it installed. */
  check: string;
  /** The check's expected output. */
  expect: RegExp;
}

async function indexStanza(file: string, name: string, version: string): Promise<Record<string, string>> {
  const text = parseTar(gunzipSync(gzipMembers(await readFile(alpineTestdata('official', file)))[1]!))
    .find((e) => e.path === 'APKINDEX')!
    .body!.toString('utf8');
  const st = parseIndexText(text).find((s) => s.P === name && s.V === version);
  if (!st) throw new Error(`${file} has no ${name}-${version}`);
  return st;
}

/**
 * x86_64: tini 0.19.0-r0 (v3.12.3 community), a musl binary that runs. Alpine has no aarch64/riscv64 .apk in our
 * corpus that depends on nothing the Box lacks, so the other arches add lua5.4-microlight 1.1.1-r4, a noarch
 * package (Lua files only; the v3.23.4 main stanza has its checksum), and check its files are in place.
 */
const LOCAL_PACKAGE: Record<FeedArch, LocalPackage> = {
  x86_64: {
    name: 'tini',
    version: '0.19.0-r0',
    file: 'x86_64/tini-0.19.0-r0.apk',
    stanza: () => indexStanza('v3.12.3-community-x86_64-APKINDEX.tar.gz', 'tini', '0.19.0-r0'),
    check: 'tini --version',
    expect: /^tini version 0\.19\.0/m,
  },
  aarch64: microlight(),
  riscv64: microlight(),
};
function microlight(): LocalPackage {
  return {
    name: 'lua5.4-microlight',
    version: '1.1.1-r4',
    file: 'noarch/lua5.4-microlight-1.1.1-r4.apk',
    stanza: async () => (await realIndexV3234()).get('lua5.4-microlight')!,
    check: 'apk info -L lua5.4-microlight && wc -c /usr/share/lua/5.4/ml.lua',
    expect: /^\d+ \/usr\/share\/lua\/5\.4\/ml\.lua$/m,
  };
}

/** Alpine's signed package byte for byte, in a repository of the Box's arch indexed with the feed's key. */
async function localRepo(dir: string, feed: TestFeed, pkg: LocalPackage): Promise<string> {
  const apk = await readRealApk(alpineTestdata('official', 'packages', pkg.file));
  const stanza = await pkg.stanza();
  expect(stanza.C).toBe(apk.checksum);
  const repo = join(dir, 'repo');
  // Alpine's index lists a noarch package under the repository's arch (PROVENANCE-2.md), so A: is the Box's.
  await writeApkRepo(repo, {
    key: feed.key,
    arch: feed.arch,
    branch: FEED_BRANCH,
    repositories: {
      community: [
        {
          name: pkg.name,
          version: pkg.version,
          arch: feed.arch,
          depends: stanza.D ? stanza.D.split(' ') : [],
          provides: stanza.p ? stanza.p.split(' ') : [],
          prebuilt: apk.bytes,
          indexFields: { ...stanza, A: feed.arch },
        },
      ],
    },
  });
  return repo;
}

export interface NexboxRun {
  target: NexboxTarget;
  arch: FeedArch;
  dir: string;
  image: string;
  feed: TestFeed;
  build: TestBuild;
  warm: TestBuild;
  seconds: Record<string, number>;
  boot?: BootTestResult;
  server?: TestHttpServer;
  local: LocalPackage;
}

/** Builds nexbox for `target` twice (cold as the cache stands, then warm) and, with `boot`, boots it once. */
export async function buildNexbox(target: NexboxTarget, opts: { boot: boolean }): Promise<NexboxRun> {
  const arch = FEED_ARCH[target]!;
  process.env.NEXUS_CACHE_DIR = sharedNexusCache(`nexbox-${arch}`);
  const dir = await mkdtemp(join(tmpdir(), 'nexus-it-nexbox-'));
  const image = join(dir, 'nexbox.img');
  const seconds: Record<string, number> = {};
  let t = Date.now();
  const feed = await debianTestFeed(arch, { packs: ['dragonbox', 'nexbox'] });
  seconds.feed = (Date.now() - t) / 1000;
  const plan = await planFor('nexbox', target, image, TEST_USER);
  t = Date.now();
  const build = await buildFromTestFeed(plan, { feed });
  seconds.build = (Date.now() - t) / 1000;
  t = Date.now();
  const warm = await buildFromTestFeed(plan, { feed });
  seconds.warm = (Date.now() - t) / 1000;
  const local = LOCAL_PACKAGE[arch];
  const run: NexboxRun = { target, arch, dir, image, feed, build, warm, seconds, local };
  const allocated = (await stat(image)).blocks * 512;
  console.log(
    `nexbox ${target}: ${build.result.packageCount} packages, image ${build.result.size} bytes (${allocated} allocated), feed ${seconds.feed} s, ` +
      `build ${seconds.build} s, rebuild ${seconds.warm} s (reused: ${warm.reused.join(', ') || 'none'})`,
  );
  if (!opts.boot) return run;

  // The medium: the image written to something 1 GiB larger.
  const medium = join(dir, 'medium.img');
  await execa('cp', ['--sparse=always', image, medium]);
  await execa('truncate', ['-s', `+${GROWN_BY}`, medium]);
  run.server = await serveDirectory(await localRepo(dir, feed, local));
  const url = run.server.url.replace('127.0.0.1', '10.0.2.2');
  const started = Date.now();
  run.boot = await bootTest(medium, {
    arch: plan.arch,
    writable: true,
    // Boot and session under TCG on 2 shared cores: x86_64 ~1 + 1 min, arm64 about twice that; room for load.
    timeoutSeconds: 900,
    forwardPorts: [{ host: await freePort(), guest: 22 }],
    onMarker: () => (seconds.marker = (Date.now() - started) / 1000),
    session: {
      ...consoleSession([C.shell, C.grown, C.audit, C.gcc, C.python, C.git, C.nvim, C.apkConfig, C.net, C.apkAdd(url, local)]),
      stepSeconds: 300,
    },
  });
  console.log(
    `nexbox ${target}: boot to the login prompt ${seconds.marker ?? '-'} s, boot + session ${run.boot.seconds} s\n` +
      (run.boot.commands ?? []).map((c) => `$ ${c.command}\n${c.output}\n(exit ${c.status})`).join('\n'),
  );
  if (!run.boot.passed)
    console.log(
      `boot failed (${run.boot.reason}); console log (end):\n${(await readFile(run.boot.log, 'utf8').catch(() => '')).split('\n').slice(-80).join('\n')}`,
    );
  return run;
}

/** Every ELF file under `dirs` of the image's root (dumped with debugfs), by its e_machine. */
async function elfMachines(rootFs: string, into: string, dirs: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const d of dirs) {
    const to = join(into, d.replaceAll('/', '_'));
    await execa('mkdir', ['-p', to]);
    await execa('debugfs', ['-R', `rdump /${d} ${to}`, rootFs]);
  }
  const walk = async (p: string, shown: string): Promise<void> => {
    const st = await lstat(p);
    if (st.isDirectory()) for (const e of await readdir(p)) await walk(join(p, e), `${shown}/${e}`);
    else if (st.isFile() && st.size >= 20) {
      const head = (await readFile(p)).subarray(0, 20);
      if (head.readUInt32BE(0) === 0x7f454c46) out.set(shown, head.readUInt16LE(18));
    }
  };
  for (const d of dirs) await walk(join(into, d.replaceAll('/', '_'), d.split('/').at(-1)!), d);
  return out;
}

/** The build's checks (every arch). */
function buildChecks(get: () => NexboxRun): void {
  it("installs exactly the closure of Alpine's own indexes (signed v3.23.4 main + v3.19.1 community, v3.24 dinit), within budget", async () => {
    const { build } = get();
    expect(build.result.packageCount).toBeLessThanOrEqual(149);
    const lock = await readJson<{ packages: Array<{ name: string }> }>(build.result.files.find((f) => f.kind === 'lock')!.path);
    expect(lock.packages.map((p) => p.name).sort()).toEqual(await realClosureNames(composePlanOf(build.result.plan)));
  });

  it("has a clean ext4 root, the last partition, whose programs and libraries are all the Box's arch", async () => {
    const { image, dir, arch } = get();
    const t = await readTable(image);
    // The boot partition (ESP; BOOT on riscv64's U-Boot boards), the state partition, then the root, last so it can grow.
    expect(t.entries.map((e) => e.name)).toEqual([arch === 'riscv64' ? 'BOOT' : 'ESP', 'state', 'root']);
    const root = await extractPartition(image, t.entries[2]!, join(dir, 'root.ext4'));
    await execa('e2fsck', ['-fn', root]);
    const elves = await elfMachines(root, join(dir, 'elves'), ['bin', 'sbin', 'lib', 'usr/bin', 'usr/sbin', 'usr/lib', 'usr/libexec']);
    await rm(join(dir, 'elves'), { recursive: true, force: true });
    const foreign = [...elves].filter(([, m]) => m !== ELF_MACHINE[arch]);
    expect(foreign).toEqual([]);
    // The programs nexbox is for are there (and so checked above).
    for (const p of ['sbin/apk', 'usr/bin/git', 'bin/zsh', 'bin/busybox', 'usr/sbin/dinit', 'usr/bin/make', 'sbin/sfdisk', 'sbin/resize2fs'])
      expect([...elves.keys()]).toContain(p);
    console.log(`nexbox ${arch}: ${elves.size} ELF files in the root, all e_machine ${ELF_MACHINE[arch]}`);
  });

  it('rebuilds unchanged from the stage caches', () => {
    expect(get().warm.reused.length).toBeGreaterThan(0);
  });
}

/** The VM test of one target: one build, and with `boot` one boot whose console session does everything. */
export function nexboxSuite(target: NexboxTarget, opts: { boot: boolean }): void {
  let run: NexboxRun;
  beforeAll(async () => {
    run = await buildNexbox(target, opts);
  }, 1_800_000);
  afterAll(async () => {
    await run?.server?.close();
    if (run) await rm(run.dir, { recursive: true, force: true });
  });
  const out = (command: string) => {
    const c = run.boot?.commands?.find((x) => x.command === command);
    if (!c) throw new Error(`"${command}" was not run (boot: ${run.boot?.reason ?? 'passed'})`);
    return c;
  };

  describe(`nexbox on ${target}`, () => {
    buildChecks(() => run);
    if (!opts.boot) return;

    it("boots to a zsh login on the Box's arch (root and the user have /bin/zsh, listed in /etc/shells)", () => {
      expect(run.boot).toMatchObject({ passed: true });
      const shell = out(C.shell);
      expect(shell.output.split('\n').slice(0, 2)).toEqual(['zsh', run.arch]);
      expect(shell.output).toMatch(/^root:x:0:0:root:\/root:\/bin\/zsh$/m);
      expect(shell.output).toMatch(new RegExp(`^${TEST_LOGIN.user}:x:1000:1000:[^:]*:/home/${TEST_LOGIN.user}:/bin/zsh$`, 'm'));
      expect(shell.output).toMatch(/^\/bin\/zsh$/m);
    });

    it('grew the ext4 root, the last partition, to fill the medium on first boot', async () => {
      const t = await readTable(run.image);
      const rootBytes = t.entries[2]!.sizeLba * 512;
      const g = out(C.grown);
      expect(g.status).toBe(0);
      const [, before, after] = /^partition 3 of \/dev\/vda: (\d+) -> (\d+) sectors$/m.exec(g.output) ?? [];
      expect(Number(before) * 512).toBe(rootBytes);
      // The partition now ends at the medium's end (the extra gigabyte, and the image's own slack after the root).
      expect((Number(after) - Number(before)) * 512).toBeGreaterThanOrEqual(GROWN_BY);
      // The mounted file system grew with it (df's size leaves out ext4's own metadata).
      const total = Number(/^\S+\s+(\d+)\s+\d+\s+\d+/m.exec(g.output.split('\n').at(-1)!)?.[1]) * 1024;
      expect(total).toBeGreaterThan(0.9 * Number(after) * 512);
      expect(total).toBeGreaterThan(rootBytes + 0.8 * GROWN_BY);
    });

    it('compiles and runs a C program with gcc, runs python3 and commits with git', () => {
      expect(out(C.gcc)).toMatchObject({ status: 0 });
      expect(out(C.gcc).output).toMatch(/^forged 42$/m);
      expect(out(C.python).output).toMatch(/^python 3 45 Linux$/m);
      const git = out(C.git);
      expect(git.status).toBe(0);
      expect(git.output).toMatch(/^[0-9a-f]{7,} (\(HEAD -> master\) )?first forge$/m);
    });

    it('edits and saves a file with neovim', () => {
      const nvim = out(C.nvim);
      expect(nvim.status).toBe(0);
      expect(nvim.output).toMatch(/^forged in nvim$/m);
    });

    it("has apk set up: Alpine's repositories for the branch, the keys the build trusted, the world and its database", () => {
      const c = out(C.apkConfig);
      expect(c.status).toBe(0);
      expect(c.output).toContain(`https://dl-cdn.alpinelinux.org/alpine/${FEED_BRANCH}/main\nhttps://dl-cdn.alpinelinux.org/alpine/${FEED_BRANCH}/community`);
      expect(c.output).toContain(run.feed.key.pubName);
      // The base feed's x86_64 busybox and musl are Alpine's own .apk files: their keys are trusted too.
      if (run.arch === 'x86_64') expect(c.output).toContain('alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub');
      expect(c.output).toMatch(/^musl\ngcc\nzsh$/m);
    });

    it('apk audit finds every file, link and directory the database lists unchanged (Z: checksums, a:/M: permissions)', () => {
      // The console echoes the command (wrapped at the terminal's width) before its output: match whole lines only.
      expect(out(C.audit).output).toMatch(/^audit-bad=0$/m);
    });

    it("apk adds Alpine's own signed package from a local repository over HTTP, installing nothing else", () => {
      const add = out(C.apkAdd(run.server!.url.replace('127.0.0.1', '10.0.2.2'), run.local));
      const name = run.local.name.replace(/\./g, '\\.');
      expect(add.status).toBe(0);
      expect(add.output).toMatch(new RegExp(`\\(1/1\\) Installing ${name} \\(${run.local.version.replace(/\./g, '\\.')}\\)`));
      expect(add.output).not.toMatch(new RegExp(`\\(\\d+/\\d+\\) (Installing|Upgrading|Purging) (?!${name} )`));
      expect(add.output).toMatch(run.local.expect);
      expect(run.server!.log.some((r) => r.path.endsWith(`/${run.local.name}-${run.local.version}.apk`))).toBe(true);
    });
  });
}
