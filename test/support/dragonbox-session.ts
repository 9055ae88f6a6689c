/**
 * dragonbox doing its job, for the per-architecture VM tests (dragonbox-*.test.ts): build the Box with the test's
 * own OCI image inside (the VM has no network and one disk, so the archive travels as base64 text decoded on the
 * Box), boot once, log in as root, and run what a container host's user does: wait for containerd, import the
 * image with ctr, run it with `ctr run --cni` on the Box's bridge network, then look at the host side.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianTestFeed, type FeedArch } from './debian-test-feed';
import { buildFromTestFeed, commandOutput, consoleSession, FIRST_COMMANDS, planFor, sharedNexusCache, TEST_USER, type TestBuild } from './image-build';
import { busyboxOciArchive, type OciArchive } from './oci-layout';

const ARCHIVE_B64 = '/usr/share/nexus-test/busybox-oci.tar.b64';
export const WAIT_CONTAINERD = 'for i in $(seq 120); do ctr version >/dev/null 2>&1 && break; sleep 1; done; ctr version';
export const IMPORT = `base64 -d ${ARCHIVE_B64} > /tmp/busybox-oci.tar && ctr image import /tmp/busybox-oci.tar`;
export const RUN = (ref: string) => `ctr run --rm --cni ${ref} web1 /bin/sh -c 'uname -m; ip -4 -o addr show dev eth0; ping -c 1 -W 10 10.88.0.1 && echo CONTAINER-REACHED-HOST'`;
export const HOST_CHECKS = ['ip -4 -o addr show dev nexus0', 'iptables -t nat -S', 'ls -l /opt/cni/bin', 'grep cgroup2 /proc/mounts', 'ls /var/lib/nexus/state/containerd', 'ctr image ls -q'];

export interface DragonboxRun {
  dir: string;
  build: TestBuild;
  oci: OciArchive;
}

export async function buildAndRunDragonbox(target: 'qemu-x86_64' | 'qemu-arm64'): Promise<DragonboxRun> {
  const arch: FeedArch = target === 'qemu-x86_64' ? 'x86_64' : 'aarch64';
  process.env.NEXUS_CACHE_DIR = sharedNexusCache(`dragonbox-${arch}`);
  const dir = await mkdtemp(join(tmpdir(), 'nexus-it-dragonbox-'));
  const oci = await busyboxOciArchive(arch);
  const plan = await planFor('dragonbox', target, join(dir, 'dragonbox.img'), TEST_USER);
  plan.files.push({ path: ARCHIVE_B64, content: oci.tar.toString('base64'), mode: '0644', owner: 'root', group: 'root', from: 'test' });
  const feed = await debianTestFeed(arch, { packs: ['dragonbox'] });
  const build = await buildFromTestFeed(plan, {
    feed, bootTest: true,
    bootTestSession: consoleSession([...FIRST_COMMANDS, WAIT_CONTAINERD, IMPORT, RUN(oci.ref), ...HOST_CHECKS]),
  });
  const r = build.result;
  // The numbers the closing notes and the Box card quote, from this run.
  console.log(`dragonbox ${target}: ${r.packageCount} packages, boot + console session ${r.bootTest?.seconds} s, stages reused: ${build.reused.join(', ') || 'none'}\n`
    + `container run:\n${r.bootTest?.commands?.find((c) => c.command === RUN(oci.ref))?.output ?? '(not run)'}`);
  // A failed boot's console is removed with the test's folder: its end goes to the test output.
  if (r.bootTest && !r.bootTest.passed) console.log(`console log (end):\n${(await readFile(r.bootTest.log, 'utf8').catch(() => '')).split('\n').slice(-80).join('\n')}`);
  return { dir, build, oci };
}

/** The VM test of one target: one boot, every check on its console session. `machine` is what `uname -m` says. */
export function dragonboxSuite(target: 'qemu-x86_64' | 'qemu-arm64', machine: string): void {
  let run: DragonboxRun;
  beforeAll(async () => { run = await buildAndRunDragonbox(target); }, 900_000);
  afterAll(() => (run ? rm(run.dir, { recursive: true, force: true }) : undefined));
  const out = (command: string) => commandOutput(run.build, command);

  describe(`dragonbox on ${target}`, () => {
    it('boots, lets root log in, starts containerd under dinit, and is Alpine\'s 29-package closure', () => {
      expect(run.build.result.bootTest).toMatchObject({ passed: true });
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

    it('the host side: bridge nexus0 at 10.88.0.1, the bridge plugin\'s masquerade rule, /opt/cni/bin linked to Alpine\'s plugins', () => {
      expect(out('ip -4 -o addr show dev nexus0').output).toMatch(/nexus0\s+inet 10\.88\.0\.1\/16 /);
      expect(out('iptables -t nat -S').output).toMatch(/-j MASQUERADE/);
      expect(out('ls -l /opt/cni/bin').output).toMatch(/\/opt\/cni\/bin -> \/usr\/libexec\/cni/);
    });
  });
}
