/**
 * `fsck.f2fs` as a read-only check (`--dry-run -f`: a full check that writes nothing back; without --dry-run it
 * would rewrite the checkpoint and the version string; stdin closed: on some damage it asks before fixing). Clean means exit 0, at least one "[FSCK] … [Ok..]" line and
 * no "[Fail]". f2fs-tools 1.15 prints "Info: Corrupted valid nat_bits in checkpoint" for mkfs.f2fs's own empty
 * filesystems too: an Info line (the kernel then rebuilds the NAT bits), not a failed check.
 */
import { execa } from 'execa';

export async function fsckF2fs(path: string): Promise<{ ok: boolean; output: string }> {
  const r = await execa('fsck.f2fs', ['--dry-run', '-f', path], { reject: false, all: true, stdin: 'ignore', timeout: 120_000 });
  const output = r.all ?? '';
  return { ok: r.exitCode === 0 && /\[FSCK\].*\[Ok\.\.\]/.test(output) && !/\[Fail\]/.test(output), output };
}
