/**
 * dragonbox for qemu-x86_64, doing its job in one boot: containerd, runc and the CNI plugins (the dragonbox replica
 * pack: Alpine v3.24's metadata and paths, Debian's binaries) start under dinit; after a console login the test
 * imports an OCI image it built itself (Alpine's real busybox and musl, test/support/oci-layout.ts) with ctr, runs
 * it with `ctr run --cni` on the Box's bridge network, and checks what the container printed: an eth0 address from
 * the bridge's 10.88.0.0/16 and a ping answered by the host side of the bridge (10.88.0.1). The host side shows the
 * bridge, the masquerade rule the bridge plugin installed through Alpine's (nft-backed) iptables, and containerd's
 * root on the state partition.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianTestFeed } from '../../support/debian-test-feed';
import type { TestBuild } from '../../support/image-build';
import { buildFromTestFeed, commandOutput, consoleSession, FIRST_COMMANDS, planFor, sharedNexusCache, TEST_USER } from '../../support/image-build';
import { busyboxOciArchive, type OciArchive } from '../../support/oci-layout';

let dir: string;
let build: TestBuild;
let oci: OciArchive;
const ARCHIVE_B64 = '/usr/share/nexus-test/busybox-oci.tar.b64';

const WAIT_CONTAINERD = 'for i in $(seq 90); do ctr version >/dev/null 2>&1 && break; sleep 1; done; ctr version';
const IMPORT = 'base64 -d /usr/share/nexus-test/busybox-oci.tar.b64 > /tmp/busybox-oci.tar && ctr image import /tmp/busybox-oci.tar';
const RUN = (ref: string) => `ctr run --rm --cni ${ref} web1 /bin/sh -c 'ip -4 -o addr show dev eth0; ping -c 1 -W 10 10.88.0.1 && echo CONTAINER-REACHED-HOST'`;
const HOST_CHECKS = ['ip -4 -o addr show dev nexus0', 'iptables -t nat -S', 'ls -l /opt/cni/bin', 'grep cgroup2 /proc/mounts', 'ls /var/lib/nexus/state/containerd', 'ctr image ls -q'];

beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('dragonbox-x86');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-dragonbox-'));
  oci = await busyboxOciArchive();
  const plan = await planFor('dragonbox', 'qemu-x86_64', join(dir, 'dragonbox.img'), TEST_USER);
  // The archive travels inside the image (the VM has no network and one disk), as base64 text decoded on the Box.
  plan.files.push({ path: ARCHIVE_B64, content: oci.tar.toString('base64'), mode: '0644', owner: 'root', group: 'root', from: 'test' });
  const feed = await debianTestFeed('x86_64', { packs: ['dragonbox'] });
  build = await buildFromTestFeed(plan, {
    feed, bootTest: true,
    bootTestSession: consoleSession([...FIRST_COMMANDS, WAIT_CONTAINERD, IMPORT, RUN(oci.ref), ...HOST_CHECKS]),
  });
  const r = build.result;
  // The numbers the closing notes and the Box card quote, from this run.
  console.log(`dragonbox qemu-x86_64: ${r.packageCount} packages, boot + console session ${r.bootTest?.seconds} s, stages reused: ${build.reused.join(', ') || 'none'}\n`
    + `container run:\n${r.bootTest?.commands?.find((c) => c.command === RUN(oci.ref))?.output ?? '(not run)'}`);
}, 900_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('dragonbox on qemu-x86_64', () => {
  it('boots, lets root log in, and has the runtime within its package budget', () => {
    expect(build.result.bootTest).toMatchObject({ passed: true });
    expect(build.result.warnings.filter((w) => /over its budget|kernel modules not in/.test(w))).toEqual([]);
    // Alpine's closure (real-boxes.test.ts resolves the same 29 on Alpine's signed v3.19.1 indexes), budget 79.
    expect(build.result.packageCount).toBe(29);
    expect(commandOutput(build, 'dinitctl list').output).toMatch(/^\[\{\+\}\s*\] containerd \(pid: \d+\)$/m);
    expect(commandOutput(build, 'grep cgroup2 /proc/mounts').output).toMatch(/^cgroup2 \/sys\/fs\/cgroup cgroup2 /m);
  });

  it('containerd answers ctr and imports the OCI archive the test built', () => {
    const version = commandOutput(build, WAIT_CONTAINERD);
    expect(version.status).toBe(0);
    expect(version.output).toMatch(/^Server:\s*$/m);
    const imp = commandOutput(build, IMPORT);
    expect(imp.status).toBe(0);
    expect(commandOutput(build, 'ctr image ls -q').output.split('\n')).toContain(oci.ref);
    expect(commandOutput(build, 'ls /var/lib/nexus/state/containerd').output).toMatch(/io\.containerd\.content\.v1\.content/);
  });

  it('runs the image with runc on the CNI bridge: the container gets an address from 10.88.0.0/16 and reaches the host side', () => {
    const run = commandOutput(build, RUN(oci.ref));
    expect(run.status).toBe(0);
    expect(run.output).toMatch(/\d+: eth0\s+inet 10\.88\.\d+\.\d+\/16 /);
    expect(run.output).toMatch(/1 packets transmitted, 1 packets received/);
    expect(run.output).toMatch(/^CONTAINER-REACHED-HOST$/m);
  });

  it('the host side: bridge nexus0 at 10.88.0.1, the bridge plugin\'s masquerade rule, /opt/cni/bin linked to Alpine\'s plugins', () => {
    expect(commandOutput(build, 'ip -4 -o addr show dev nexus0').output).toMatch(/nexus0\s+inet 10\.88\.0\.1\/16 /);
    expect(commandOutput(build, 'iptables -t nat -S').output).toMatch(/-j MASQUERADE/);
    expect(commandOutput(build, 'ls -l /opt/cni/bin').output).toMatch(/\/opt\/cni\/bin -> \/usr\/libexec\/cni/);
  });
});
