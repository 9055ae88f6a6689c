/** Places the plan's partitions on the disk: 1 MiB aligned, fixed sizes from the plan, "auto" from the content. */
import type { ComposePlan, PlannedPartition } from '../../../src-shared/plan';
import { SECTOR, type TableEntry } from './partition-table';

export const MiB = 1 << 20;
const ALIGN = MiB;

export interface PlacedPartition extends PlannedPartition {
  offset: number;
  sizeBytes: number;
  uuid: string;
}

export interface DiskLayout {
  table: 'gpt' | 'mbr';
  size: number;
  partitions: PlacedPartition[];
}

export const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

export function layoutDisk(plan: ComposePlan, contentBytes: (p: PlannedPartition) => number, uuidOf: (p: PlannedPartition) => string): DiskLayout {
  let offset = ALIGN;
  const partitions: PlacedPartition[] = [];
  for (const p of plan.partitions) {
    const sizeBytes = p.sizeMiB === 'auto' ? Math.max(ALIGN, roundUp(contentBytes(p), ALIGN)) : p.sizeMiB * MiB;
    if (p.sizeMiB !== 'auto' && contentBytes(p) > sizeBytes) {
      throw new Error(`partition ${p.label}: ${contentBytes(p)} bytes of content do not fit in ${p.sizeMiB} MiB`);
    }
    partitions.push({ ...p, offset, sizeBytes, uuid: uuidOf(p) });
    offset += roundUp(sizeBytes, ALIGN);
  }
  // GPT keeps its backup copy in the last 33 sectors: leave an aligned MiB for it.
  const size = plan.partitionTable === 'gpt' ? offset + ALIGN : offset;
  return { table: plan.partitionTable, size, partitions };
}

export function tableEntries(layout: DiskLayout, plan: ComposePlan): TableEntry[] {
  return layout.partitions.map((p) => ({
    startLba: p.offset / SECTOR,
    sizeLba: p.sizeBytes / SECTOR,
    type: p.type,
    uuid: p.uuid,
    name: p.label,
    // U-Boot's distro boot scans partitions marked "legacy BIOS bootable" for extlinux.conf.
    attributes: p.role === 'boot' && plan.boot.method === 'u-boot-extlinux' ? 1n << 2n : 0n,
    bootable: p.role === 'boot' || p.role === 'esp',
  }));
}
