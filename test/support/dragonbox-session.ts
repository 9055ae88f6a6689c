/**
 * dragonbox doing its job, for the per-architecture VM tests (dragonbox-*.test.ts): build the Box with the test's
 * own OCI image inside (the VM has no network and one disk, so the archive travels as base64 text decoded on the
 * Box), boot once, log in as root, and run what a container host's user does: wait for containerd, import the
 * image with ctr, run it with `ctr run --cni` on the Box's bridge network, then look at the host side. The built
 * image itself is checked too (QEMU boots it with snapshot=on, so it stays as built): every filesystem fsck-clean,
 * the root verifies against its verity tree, and where we hold Alpine's data for the arch, the installed closure is
 * the one Alpine's own indexes give.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianTestFeed, type FeedArch } from './debian-test-feed';
import { bootTest, type BootTestResult } from '../../src-main/engine/vm/boot-test';
import { resolvePackages } from '../../src-main/engine/feeds';
import { planRequests } from '../../src-main/engine/feeds/stages';
import { composePlanOf, type ComposePlan } from '../../src-shared/plan';
import {
  buildFromTestFeed,
  consoleSession,
  extractPartition,
  FEED_ARCH,
  FIRST_COMMANDS,
  planFor,
  readJson,
  readTable,
  sharedNexusCache,
  TEST_USER,
  type TestBuild,
} from './image-build';
import { busyboxOciArchive, type OciArchive } from './oci-layout';
import { parseStanzas, realClosureNames, stanzaIndex } from './real-alpine-indexes';
import { RISCV64_V324 } from './replica-packs/dragonbox';

const ARCHIVE_B64 = '/usr/share/nexus-test/busybox-oci.tar.b64';
export const WAIT_CONTAINERD = 'for i in $(seq 120); do ctr version >/dev/null 2>&1 && break; sleep 1; done; ctr version';
export const IMPORT = `base64 -d ${ARCHIVE_B64} > /tmp/busybox-oci.tar && ctr image import /tmp/busybox-oci.tar`;
export const RUN = (ref: string) =>
  `ctr run --rm --cni ${ref} web1 /bin/sh -c 'uname -m; ip -4 -o addr show dev eth0; ping -c 1 -W 10 10.88.0.1 && echo CONTAINER-REACHED-HOST'`;
export const HOST_CHECKS = [
  'ip -4 -o addr show dev nexus0',
  'iptables -t nat -S',
  'ls -l /opt/cni/bin',
  'grep cgroup2 /proc/mounts',
  'ls /var/lib/nexus/state/containerd',
  'ctr image ls -q',
];

const COMMUNITY = new Set(['containerd', 'containerd-ctr', 'runc', 'cni-plugins', 'dinit']);

/**
 * The package names Alpine's own riscv64 data gives for a plan: the v3.24 riscv64 main + community stanzas of
 * test/fixtures/alpine-real plus the pack's copied v3.24 riscv64 stanzas of the container packages (RISCV64_V324),
 * test-signed and read back through the verifying reader (stanzaIndex).
 */
export async function realRiscv64ClosureNames(plan: ComposePlan): Promise<string[]> {
  const fixture = async (repo: string) =>
    parseStanzas(await readFile(join(import.meta.dirname, '..', 'fixtures', 'alpine-real', 'v3.24', repo, 'riscv64', 'APKINDEX.part'), 'utf8'));
  const pack = parseStanzas(RISCV64_V324);
  const index = async (repo: 'main' | 'community') =>
    stanzaIndex(
      [...(await fixture(repo)), ...pack.filter((s) => COMMUNITY.has(s.P!) === (repo === 'community'))],
      { name: repo, branch: 'v3.24', arch: 'riscv64', base: '' },
      `v3.24 ${repo} riscv64 (fixture + dragonbox pack stanzas, test-signed)`,
    );
  const real = resolvePackages([await index('main'), await index('community')], planRequests(plan), { assumeProvided: plan.builderProvides });
  return real.packages.map((p) => p.pkg.name).sort();
}

/** Alpine's closure for the plan where we hold Alpine's data for its arch (aarch64: no community data to resolve on). */
const REAL_CLOSURE: Partial<Record<FeedArch, (plan: ComposePlan) => Promise<string[]>>> = {
  x86_64: realClosureNames,
  riscv64: realRiscv64ClosureNames,
};

export interface DragonboxRun {
  dir: string;
  build: TestBuild;
  boot: BootTestResult;
  oci: OciArchive;
}

/**
 * The boot test's clock covers the boot and the whole session (import, run, checks): 60-75 s in all on each of the
 * three VMs at load 4-6 (riscv64 60-90 s), up to three times that on 2 shared cores under heavy load; the build's own
 * boot test stops at 180 s, so the image is booted here with room.
 */
const BOOT_AND_SESSION_SECONDS = 600;

/** The QEMU VMs dragonbox is booted on (its three architectures). */
export type DragonboxTarget = 'qemu-x86_64' | 'qemu-arm64' | 'qemu-riscv64';

export async function buildAndRunDragonbox(target: DragonboxTarget): Promise<DragonboxRun> {
  const arch: FeedArch = FEED_ARCH[target]!;
  process.env.NEXUS_CACHE_DIR = sharedNexusCache(`dragonbox-${arch}`);
  const dir = await mkdtemp(join(tmpdir(), 'nexus-it-dragonbox-'));
  const oci = await busyboxOciArchive(arch);
  const plan = await planFor('dragonbox', target, join(dir, 'dragonbox.img'), TEST_USER);
  plan.files.push({ path: ARCHIVE_B64, content: oci.tar.toString('base64'), mode: '0644', owner: 'root', group: 'root', from: 'test' });
  const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
  let t = Date.now();
  // The nexbox tests' feed (the dragonbox pack is part of it): one feed build per arch in CI instead of two. The
  // resolver installs only what dragonbox needs, and the closure check below holds it to Alpine's.
  const feed = await debianTestFeed(arch, { packs: ['dragonbox', 'nexbox'] });
  const feedSeconds = seconds(t);
  t = Date.now();
  const build = await buildFromTestFeed(plan, { feed });
  const buildSeconds = seconds(t);
  const size = await stat(join(dir, 'dragonbox.img'));
  const mib = (n: number) => (n / 2 ** 20).toFixed(0);
  const boot = await bootTest(join(dir, 'dragonbox.img'), {
    arch: plan.arch,
    timeoutSeconds: BOOT_AND_SESSION_SECONDS,
    // Steps get 240 s: waiting for containerd and importing under TCG on a loaded machine take longer than the default 90.
    session: { ...consoleSession([...FIRST_COMMANDS, WAIT_CONTAINERD, IMPORT, RUN(oci.ref), ...HOST_CHECKS]), stepSeconds: 240 },
  });
  // The numbers the closing notes and the Box card quote, from this run.
  console.log(
    `dragonbox ${target}: ${build.result.packageCount} packages, image ${mib(size.size)} MiB (${mib(size.blocks * 512)} MiB allocated); test feed ready in ${feedSeconds} s, image built in ${buildSeconds} s ` +
      `(stages reused: ${build.reused.join(', ') || 'none'}); boot + console session ${boot.seconds} s\n` +
      `container run:\n${boot.commands?.find((c) => c.command === RUN(oci.ref))?.output ?? '(not run)'}`,
  );
  // A failed boot's console is removed with the test's folder: its end goes to the test output.
  if (!boot.passed)
    console.log(`boot failed (${boot.reason}); console log (end):\n${(await readFile(boot.log, 'utf8').catch(() => '')).split('\n').slice(-80).join('\n')}`);
  return { dir, build, boot, oci };
}

/** The VM test of one target: one boot, every check on its console session. `machine` is what `uname -m` says. */
export function dragonboxSuite(target: DragonboxTarget, machine: string): void {
  let run: DragonboxRun;
  beforeAll(async () => {
    run = await buildAndRunDragonbox(target);
  }, 1_500_000);
  afterAll(() => (run ? rm(run.dir, { recursive: true, force: true }) : undefined));
  const out = (command: string) => {
    const c = run.boot.commands?.find((x) => x.command === command);
    if (!c) throw new Error(`"${command}" was not run on the console (boot test: ${run.boot.reason ?? 'passed'})`);
    return c;
  };

  describe(`dragonbox on ${target}`, () => {
    it("boots, lets root log in, starts containerd under dinit, and is Alpine's 29-package closure", () => {
      expect(run.boot).toMatchObject({ passed: true });
      expect(run.build.result.warnings.filter((w) => /over its budget|kernel modules not in/.test(w))).toEqual([]);
      // real-boxes.test.ts resolves the same 29 on Alpine's signed v3.19.1 indexes; the budget is 79.
      expect(run.build.result.packageCount).toBe(29);
      expect(out('dinitctl list').output).toMatch(/^\[\{\+\}\s*\] containerd \(pid: \d+\)$/m);
      expect(out('grep cgroup2 /proc/mounts').output).toMatch(/^cgroup2 \/sys\/fs\/cgroup cgroup2 /m);
    });

    it('containerd answers ctr and imports the OCI archive the test built, into its root on the state partition', () => {
      const version = out(WAIT_CONTAINERD);
      expect(version.status).toBe(0);
      expect(version.output).toMatch(/^Server:\s*$/m);
      expect(out(IMPORT).status).toBe(0);
      expect(out('ctr image ls -q').output.split('\n')).toContain(run.oci.ref);
      expect(out('ls /var/lib/nexus/state/containerd').output).toMatch(/io\.containerd\.content\.v1\.content/);
    });

    it('runs the image with runc on the CNI bridge: an address from 10.88.0.0/16, and the host side answers', () => {
      const r = out(RUN(run.oci.ref));
      expect(r.status).toBe(0);
      expect(r.output.split('\n')[0]).toBe(machine);
      expect(r.output).toMatch(/\d+: eth0\s+inet 10\.88\.\d+\.\d+\/16 /);
      expect(r.output).toMatch(/1 packets transmitted, 1 packets received/);
      expect(r.output).toMatch(/^CONTAINER-REACHED-HOST$/m);
    });

    it('the image as built: ESP/boot FAT, EROFS root, F2FS state all fsck-clean, and the root verifies against its verity tree', async () => {
      const image = join(run.dir, 'dragonbox.img');
      const t = await readTable(image);
      const part = (...names: string[]) => {
        const e = t.entries.find((x) => names.includes(x.name ?? ''));
        if (!e) throw new Error(`no ${names.join('/')} partition (the image has ${t.entries.map((x) => x.name).join(', ')})`);
        return extractPartition(image, e, join(run.dir, `${names[0]}.part`));
      };
      await execa('fsck.vfat', ['-n', await part('ESP', 'BOOT')]);
      const root = await part('root');
      await execa('fsck.erofs', [root]);
      await execa('fsck.f2fs', ['-f', await part('state')]);
      const m = await readJson<{ verity: { rootHash: string } }>(join(run.dir, 'dragonbox.manifest.json'));
      await execa('veritysetup', ['verify', root, await part('root-verity'), m.verity.rootHash]);
    });

    const realClosure = REAL_CLOSURE[FEED_ARCH[target]!];
    // aarch64: Alpine's community data we hold is x86_64 and riscv64 only; the 29-package count is checked above.
    it.runIf(realClosure)("installs exactly the closure Alpine's own indexes give for the arch", async () => {
      const lock = await readJson<{ packages: Array<{ name: string }> }>(run.build.result.files.find((f) => f.kind === 'lock')!.path);
      expect(lock.packages.map((p) => p.name).sort()).toEqual(await realClosure!(composePlanOf(run.build.result.plan)));
    });

    it("the host side: bridge nexus0 at 10.88.0.1, the bridge plugin's masquerade rule, /opt/cni/bin linked to Alpine's plugins", () => {
      expect(out('ip -4 -o addr show dev nexus0').output).toMatch(/nexus0\s+inet 10\.88\.0\.1\/16 /);
      expect(out('iptables -t nat -S').output).toMatch(/-j MASQUERADE/);
      expect(out('ls -l /opt/cni/bin').output).toMatch(/\/opt\/cni\/bin -> \/usr\/libexec\/cni/);
    });
  });
}
