/**
 * Partition layout from a board and a Box's filesystems. GPT types follow the Discoverable Partitions
 * Specification (uapi-group.org/specifications/specs/discoverable_partitions_specification) where one exists.
 */
import type { Arch } from '../../../src-shared/arch';
import type { Board, Filesystems } from '../../../src-shared/catalog';
import type { PlannedPartition } from '../../../src-shared/plan';

export const GPT_TYPES = {
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  basicData: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
  linuxData: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  root: { x86_64: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', arm64: 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', riscv64: '72EC70A6-CF74-40E6-BD49-4BDA08E8F224' },
  rootVerity: {
    x86_64: '2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5',
    arm64: 'DF3300CE-D69F-4C92-978C-9BFB0F38D820',
    riscv64: 'B6ED5582-440B-4209-B8DA-5FF7C419EA3D',
  },
} as const satisfies Record<string, string | Record<Arch, string>>;

export const MBR_TYPES = { fat32Lba: '0c', linux: '83', nonFs: 'da' } as const;

export function planPartitions(board: Board, fs: Filesystems): PlannedPartition[] {
  const gpt = board.partitionTable === 'gpt';
  const parts: Omit<PlannedPartition, 'index'>[] = [];
  for (const raw of board.boot.raw) {
    parts.push({ label: raw.role, role: raw.role, type: raw.typeGuid, filesystem: 'raw', sizeMiB: raw.sizeMiB, from: raw.from });
  }
  const esp = board.boot.method === 'uefi';
  parts.push({
    label: esp ? 'ESP' : 'BOOT',
    role: esp ? 'esp' : 'boot',
    type: gpt ? (esp ? GPT_TYPES.esp : GPT_TYPES.basicData) : MBR_TYPES.fat32Lba,
    filesystem: 'vfat',
    sizeMiB: board.boot.partitionMiB,
  });
  const state = fs.overlay
    ? { label: 'state', role: 'state' as const, type: gpt ? GPT_TYPES.linuxData : MBR_TYPES.linux, filesystem: 'f2fs' as const, sizeMiB: fs.overlay.sizeMiB }
    : null;
  // A writable ext4 root grows into the rest of the medium on first boot (config/grow-root.ts): it goes last.
  const rootLast = fs.root.type === 'ext4';
  if (state && rootLast) parts.push(state);
  if (fs.root.type !== 'initramfs') {
    parts.push({ label: 'root', role: 'root', type: gpt ? GPT_TYPES.root[board.arch] : MBR_TYPES.linux, filesystem: fs.root.type, sizeMiB: 'auto' });
    if (fs.root.verity)
      parts.push({
        label: 'root-verity',
        role: 'root-verity',
        type: gpt ? GPT_TYPES.rootVerity[board.arch] : MBR_TYPES.nonFs,
        filesystem: 'verity',
        sizeMiB: 'auto',
      });
  }
  if (state && !rootLast) parts.push(state);
  if (!gpt && parts.length > 4) throw new Error(`board ${board.name}: an MBR holds at most 4 primary partitions`);
  return parts.map((p, i) => ({ index: i + 1, ...p }));
}
