/** The MBR disk signature (from the plan's seed) and the kernel command line hint that lets the initramfs find its partitions. */
import type { BuildPlan } from '../../../src-shared/plan';
import type { Seed } from './reproducible';

/** MBR partitions have no names: tell the initramfs the disk signature and the partition numbers instead. */
export function mbrPartitionHint(plan: BuildPlan, seed: Seed): string {
  const disk = plan.partitions.filter((p) => p.role === 'root' || p.role === 'root-verity' || p.role === 'state');
  if (plan.partitionTable !== 'mbr' || disk.length === 0) return '';
  const id = Buffer.alloc(4);
  id.writeUInt32LE(mbrDiskId(seed));
  return `nexus.mbr=${id.toString('hex')} nexus.parts=${disk.map((p) => `${p.label}:${p.index}`).join(',')}`;
}

export const mbrDiskId = (seed: Seed) => parseInt(seed.hex('mbr-disk-id', 4), 16);
