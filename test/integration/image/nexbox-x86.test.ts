/**
 * nexbox for qemu-x86_64, doing its job in one boot and one login session: built from the replica feed (base +
 * dragonbox + nexbox packs: Alpine's metadata, Debian payloads, the real apk-tools), written to a "medium" 1 GiB
 * larger than the image (a sparse copy, booted writable), then on the console, as root, whose login shell is zsh:
 * the root has grown to fill the medium (first-boot sfdisk + resize2fs), gcc compiles and runs a C program,
 * python3 runs, git commits, and apk — with the repositories, keys and installed database Nexus wrote — adds
 * Alpine's own signed tini package from a local repository served over HTTP to the VM (QEMU user network, the host
 * at 10.0.2.2), without touching anything already installed.
 */
import { execa } from 'execa';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composePlanOf } from '../../../src-shared/plan';
import { bootTest, type BootTestResult } from '../../../src-main/engine/vm/boot-test';
import { gzipMembers, parseIndexText, parseTar, readRealApk } from '../../support/alpine-real';
import { alpineTestdata } from '../../support/alpine-testdata';
import { writeApkRepo } from '../../support/apk-repo';
import { debianTestFeed, FEED_BRANCH, type TestFeed } from '../../support/debian-test-feed';
import { serveDirectory, type TestHttpServer } from '../../support/http-server';
import type { TestBuild } from '../../support/image-build';
import {
  buildFromTestFeed,
  consoleSession,
  extractPartition,
  planFor,
  readJson,
  readTable,
  sharedNexusCache,
  TEST_LOGIN,
  TEST_USER,
} from '../../support/image-build';
import { realClosureNames } from '../../support/real-alpine-indexes';

let dir: string;
let feed: TestFeed;
let build: TestBuild;
let warm: TestBuild;
let boot: BootTestResult;
let server: TestHttpServer;
const seconds: Record<string, number> = {};
const image = () => join(dir, 'nexbox.img');
const GROWN_BY = 1024 * 1024 * 1024;

const HELLO_C = '#include <stdio.h>\\nint main(void) { printf("forged %%d\\\\n", 6 * 7); return 0; }\\n';
const C = {
  shell: 'cat /proc/$$/comm; grep -E "^(root|ada):" /etc/passwd; grep zsh /etc/shells',
  grown: 'cat /var/log/nexus-grow-root.log; cat /var/lib/nexus/grow-root.done; df -k / | tail -n 1',
  gcc: `printf '${HELLO_C}' > /tmp/hello.c && gcc -O2 -Wall -o /tmp/hello /tmp/hello.c && /tmp/hello`,
  python: 'python3 -c "import sys, os; print(\'python\', sys.version_info[0], sum(range(10)), os.uname().sysname)"',
  git: 'mkdir -p /root/forge && cd /root/forge && git init -q && git config user.email ada@example.org && git config user.name Ada && cp /tmp/hello.c . && git add hello.c && git commit -q -m "first forge" && git --no-pager log --oneline && cd /',
  apkConfig: 'cat /etc/apk/repositories; ls /etc/apk/keys; wc -l < /etc/apk/world; apk info -e musl gcc zsh',
  // Before anything else writes to the root: every file apk's database lists is as it says (content, mode, owner).
  audit:
    "apk audit --system --check-permissions > /tmp/audit.txt 2>&1; grep -E '^[UMxXe] ' /tmp/audit.txt | head -n 20; echo \"audit-bad=$(grep -cE '^[UMxXe] ' /tmp/audit.txt)\"",
  net: 'ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2',
  apkAdd: (url: string) => `echo ${url}/${FEED_BRANCH}/community > /etc/apk/repositories && apk update && apk add tini && tini --version && apk info -e tini`,
};

/** A free TCP port on 127.0.0.1 (the port forward that gives the VM its user network). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Alpine's signed tini 0.19.0-r0 (v3.12.3 community) byte for byte, in a repository indexed with the feed's key. */
async function localRepo(): Promise<string> {
  const apk = await readRealApk(alpineTestdata('official', 'packages', 'x86_64', 'tini-0.19.0-r0.apk'));
  const members = gzipMembers(await readFile(alpineTestdata('official', 'v3.12.3-community-x86_64-APKINDEX.tar.gz')));
  const text = parseTar(gunzipSync(members[1]!))
    .find((e) => e.path === 'APKINDEX')!
    .body!.toString('utf8');
  const stanza = parseIndexText(text).find((s) => s.P === 'tini' && s.V === '0.19.0-r0')!;
  expect(stanza.C).toBe(apk.checksum);
  const repo = join(dir, 'repo');
  await writeApkRepo(repo, {
    key: feed.key,
    arch: 'x86_64',
    branch: FEED_BRANCH,
    repositories: {
      community: [
        {
          name: 'tini',
          version: '0.19.0-r0',
          arch: 'x86_64',
          depends: ['so:libc.musl-x86_64.so.1'],
          provides: ['cmd:tini'],
          prebuilt: apk.bytes,
          indexFields: { ...stanza },
        },
      ],
    },
  });
  return repo;
}

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('nexbox-x86');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-nexbox-'));
  feed = await debianTestFeed('x86_64', { packs: ['dragonbox', 'nexbox'] });
  const plan = await planFor('nexbox', 'qemu-x86_64', image(), TEST_USER);
  let t = Date.now();
  build = await buildFromTestFeed(plan, { feed });
  seconds.build = (Date.now() - t) / 1000;
  t = Date.now();
  warm = await buildFromTestFeed(plan, { feed });
  seconds.warm = (Date.now() - t) / 1000;

  // The medium: the image written to something 1 GiB larger.
  const medium = join(dir, 'medium.img');
  await execa('cp', ['--sparse=always', image(), medium]);
  await execa('truncate', ['-s', `+${GROWN_BY}`, medium]);
  server = await serveDirectory(await localRepo());
  const url = server.url.replace('127.0.0.1', '10.0.2.2');
  boot = await bootTest(medium, {
    arch: 'x86_64',
    writable: true,
    timeoutSeconds: 600,
    forwardPorts: [{ host: await freePort(), guest: 22 }],
    session: { ...consoleSession([C.shell, C.grown, C.audit, C.gcc, C.python, C.git, C.apkConfig, C.net, C.apkAdd(url)]), stepSeconds: 240 },
  });
  const r = build.result;
  console.log(
    `nexbox qemu-x86_64: ${r.packageCount} packages, image ${r.size} bytes (${(await stat(image())).blocks * 512} allocated), build ${seconds.build} s, ` +
      `rebuild ${seconds.warm} s (reused: ${warm.reused.join(', ') || 'none'}), boot to the marker ${boot.seconds} s\n` +
      (boot.commands ?? []).map((c) => `$ ${c.command}\n${c.output}\n(exit ${c.status})`).join('\n'),
  );
}, 1_800_000);
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const out = (command: string) => {
  const c = boot.commands?.find((x) => x.command === command);
  if (!c) throw new Error(`"${command}" was not run (boot: ${boot.reason ?? 'passed'})`);
  return c;
};

describe('nexbox on qemu-x86_64', () => {
  it('boots to a zsh login (root and the user have /bin/zsh, listed in /etc/shells), within its package budget', () => {
    expect(boot).toMatchObject({ passed: true });
    expect(build.result.packageCount).toBeLessThanOrEqual(149);
    const shell = out(C.shell);
    expect(shell.output.split('\n')[0]).toBe('zsh');
    expect(shell.output).toMatch(/^root:x:0:0:root:\/root:\/bin\/zsh$/m);
    expect(shell.output).toMatch(new RegExp(`^${TEST_LOGIN.user}:x:1000:1000:[^:]*:/home/${TEST_LOGIN.user}:/bin/zsh$`, 'm'));
    expect(shell.output).toMatch(/^\/bin\/zsh$/m);
  });

  it('grew the ext4 root, the last partition, to fill the medium on first boot', async () => {
    const t = await readTable(image());
    expect(t.entries.map((e) => e.name)).toEqual(['ESP', 'state', 'root']);
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
    // The image itself is untouched and its root checks clean.
    const root = await extractPartition(image(), t.entries[2]!, join(dir, 'root.ext4'));
    await execa('e2fsck', ['-fn', root]);
  });

  it('compiles and runs a C program with gcc, runs python3 and commits with git', () => {
    expect(out(C.gcc)).toMatchObject({ status: 0 });
    expect(out(C.gcc).output).toMatch(/^forged 42$/m);
    expect(out(C.python).output).toMatch(/^python 3 45 Linux$/m);
    const git = out(C.git);
    expect(git.status).toBe(0);
    expect(git.output).toMatch(/^[0-9a-f]{7,} (\(HEAD -> master\) )?first forge$/m);
  });

  it("has apk set up: Alpine's repositories for the branch, the keys the build trusted, the world and its database", async () => {
    const c = out(C.apkConfig);
    expect(c.status).toBe(0);
    expect(c.output).toContain(`https://dl-cdn.alpinelinux.org/alpine/${FEED_BRANCH}/main\nhttps://dl-cdn.alpinelinux.org/alpine/${FEED_BRANCH}/community`);
    expect(c.output).toContain(feed.key.pubName);
    expect(c.output).toContain('alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub');
    expect(c.output).toMatch(/^musl\ngcc\nzsh$/m);
  });

  it('apk audit finds every file, link and directory the database lists unchanged (Z: checksums, a:/M: permissions)', () => {
    // The console echoes the command (wrapped at the terminal's width) before its output: match whole lines only.
    const a = out(C.audit);
    expect(a.output).toMatch(/^audit-bad=0$/m);
  });

  it("apk adds Alpine's signed tini from a local repository over HTTP, installing nothing else, and it runs", () => {
    const add = out(C.apkAdd(server.url.replace('127.0.0.1', '10.0.2.2')));
    expect(add.status).toBe(0);
    expect(add.output).toMatch(/\(1\/1\) Installing tini \(0\.19\.0-r0\)/);
    expect(add.output).not.toMatch(/\(\d+\/\d+\) (Installing|Upgrading|Purging) (?!tini)/);
    expect(add.output).toMatch(/^tini version 0\.19\.0/m);
    expect(server.log.some((r) => r.path.endsWith('/tini-0.19.0-r0.apk'))).toBe(true);
  });

  it("installs exactly the closure Alpine's own indexes give (signed v3.23.4 main + v3.19.1 community, v3.24 dinit)", async () => {
    const lock = await readJson<{ packages: Array<{ name: string }> }>(build.result.files.find((f) => f.kind === 'lock')!.path);
    expect(lock.packages.map((p) => p.name).sort()).toEqual(await realClosureNames(composePlanOf(build.result.plan)));
  });

  it('rebuilds unchanged from the stage caches', () => {
    expect(warm.reused.length).toBeGreaterThan(0);
  });
});
