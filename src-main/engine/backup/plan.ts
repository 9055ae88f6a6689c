/**
 * What a backup reads: the partition table and the boot area before the first partition, every gap between
 * partitions (boot loaders live there on some boards), each partition's used blocks where its filesystem says
 * which those are (else all of it), and the backup GPT. The space after the last partition belongs to nothing
 * and is left out (it restores as zeros); a drive without a readable table is read whole.
 */
import type { BackupRegion } from '../../../src-shared/backup';
import { filesystemUsage, type Range } from './fs-usage';
import { readPartitionTable, type ReadAt } from './partitions';

export const BACKUP_BLOCK = 4096;

export interface BackupPlan {
  size: number;
  regions: BackupRegion[];
  /** Byte ranges to read, aligned to BACKUP_BLOCK (the last one clamped to the drive's end), sorted, disjoint. */
  mapped: Range[];
}

function coalesceAligned(ranges: Range[], size: number): Range[] {
  const aligned = ranges
    .filter((r) => r.end > r.start)
    .map((r) => ({ start: Math.floor(r.start / BACKUP_BLOCK) * BACKUP_BLOCK, end: Math.min(size, Math.ceil(r.end / BACKUP_BLOCK) * BACKUP_BLOCK) }))
    .sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of aligned) {
    const last = out.at(-1);
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

const bytesOf = (ranges: Range[]) => ranges.reduce((n, r) => n + r.end - r.start, 0);

export async function planBackup(readAt: ReadAt, size: number): Promise<BackupPlan> {
  const table = await readPartitionTable(readAt, size).catch(() => null);
  if (!table || table.partitions.length === 0) {
    const all = [{ start: 0, end: size }];
    return { size, regions: [{ start: 0, end: size, label: 'whole drive (no partition table found)', method: 'all-blocks', usedBytes: size }], mapped: all };
  }
  const regions: BackupRegion[] = [];
  const wanted: Range[] = [];
  const add = (start: number, end: number, label: string, method: BackupRegion['method'], used: Range[]) => {
    if (end <= start) return;
    wanted.push(...used);
    regions.push({ start, end, label, method, usedBytes: bytesOf(used) });
  };
  for (const t of table.tableRegions) add(t.start, t.end, `${table.kind.toUpperCase()} partition table`, 'partition-table', [t]);
  const parts = [...table.partitions].sort((a, b) => a.start - b.start);
  let cursor = table.tableRegions[0]!.end;
  for (const p of parts) {
    if (p.start > cursor)
      add(cursor, p.start, cursor < BACKUP_BLOCK * 256 ? 'boot area before the first partition' : 'gap between partitions', 'unpartitioned', [
        { start: cursor, end: p.start },
      ]);
    cursor = Math.max(cursor, p.end);
    const whole = [{ start: p.start, end: p.end }];
    if (p.extended) {
      add(p.start, p.end, `p${p.index} extended partition`, 'all-blocks', whole);
      continue;
    }
    const partRead: ReadAt = (pos, len) => readAt(p.start + pos, len);
    const usage = await filesystemUsage(partRead, p.end - p.start).catch(() => null);
    if (!usage) {
      add(p.start, p.end, `p${p.index}`, 'all-blocks', whole);
      continue;
    }
    const used = usage.used.map((r) => ({ start: p.start + r.start, end: p.start + Math.min(r.end, usage.fsSize) }));
    if (p.start + usage.fsSize < p.end) used.push({ start: p.start + usage.fsSize, end: p.end });
    add(p.start, p.end, `p${p.index} ${usage.fs}`, usage.method, used);
  }
  const mapped = coalesceAligned(wanted, size);
  return { size, regions: regions.sort((a, b) => a.start - b.start), mapped };
}
