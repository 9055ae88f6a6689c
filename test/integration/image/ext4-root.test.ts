/**
 * A writable ext4 root (the layout nexbox uses), shown with tinybox's packages: tinybox's plan with its root
 * switched to ext4, built with PATH reduced to nothing (a fresh host name, so the root is really written, in-process),
 * checked with e2fsck and debugfs (ownership and modes from the manifest, not from the build user), then booted to
 * the marker through the initramfs that mounts it.
 */
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT_TYPES } from '../../../src-main/engine/plan/partitions';
import type { BuildPlan } from '../../../src-shared/plan';
import { bootTest } from '../../../src-main/engine/vm/boot-test';
import { debianTestFeed } from '../../support/debian-test-feed';
import { buildFromTestFeed, extractPartition, planFor, readTable, sharedNexusCache } from '../../support/image-build';

let dir: string;
beforeAll(async () => {
  process.env.NEXUS_CACHE_DIR = sharedNexusCache('ext4-root');
  dir = await mkdtemp(join(tmpdir(), 'nexus-it-ext4-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('ext4 root', () => {
  it("is built with the manifest's ownership, checks clean and boots", async () => {
    const hostname = `ext4box-${Date.now().toString(36)}`;
    const base = await planFor('tinybox', 'qemu-x86_64', join(dir, 'ext4.img'), {
      hostname,
      user: { name: 'ada' },
      sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@host'],
    });
    const plan: BuildPlan = {
      ...base,
      filesystems: { root: { type: 'ext4', verity: false } },
      partitions: [...base.partitions, { index: 2, label: 'root', role: 'root', type: GPT_TYPES.root.x86_64, filesystem: 'ext4', sizeMiB: 'auto' }],
      boot: { ...base.boot!, kernelCmdline: `${base.boot!.kernelCmdline} rootwait` },
    };
    // Built with PATH reduced to nothing (issue 17): the ext4 root and every other part are written in-process.
    const feed = await debianTestFeed('x86_64');
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const b = await buildFromTestFeed(plan, { feed });
      expect(b.reused).not.toContain('root-ext4');
    } finally {
      process.env.PATH = path;
    }
    const boot = await bootTest(join(dir, 'ext4.img'), { arch: 'x86_64', timeoutSeconds: 180 });
    expect(boot.passed, boot.reason).toBe(true);
    const t = await readTable(join(dir, 'ext4.img'));
    expect(t.entries.map((e) => e.name)).toEqual(['ESP', 'root']);
    const root = await extractPartition(join(dir, 'ext4.img'), t.entries[1]!, join(dir, 'root.ext4'));
    await execa('e2fsck', ['-fn', root]);
    const stat = async (p: string) => (await execa('debugfs', ['-R', `stat ${p}`, root])).stdout;
    expect(await stat('/home/ada/.ssh/authorized_keys')).toMatch(/User:\s+1000\s+Group:\s+1000/);
    expect(await stat('/home/ada/.ssh/authorized_keys')).toMatch(/Mode:\s+0600/);
    expect(await stat('/etc/shadow')).toMatch(/Group:\s+42/);
    expect((await execa('debugfs', ['-R', 'cat /etc/hostname', root])).stdout).toBe(hostname);
  }, 240_000);
});
