/**
 * Stage "pack": lay out the disk, write the sparse image with its partition table, then the sidecar files
 * (.sha256, .bmap, manifest.json, SPDX SBOM, lock file). Everything is written under ".partial" names of an
 * OutputSet (../outputs.ts) and renamed only when all of it is complete (the image last), so a failed or cancelled
 * build leaves nothing that looks finished; partial files are removed on any error. The targets are checked first:
 * never a directory, device, FIFO or symlink, and an existing file only when it is a previous Nexus output.
 */
import type { PlannedPartition } from '../../../../src-shared/plan';
import { redactSecrets } from '../../../../src-shared/plan';
import { NEXUS_VERSION } from '../../../../src-shared/version';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { NexusError } from '../../../../src-shared/errors';
import type { BuildOutputFile } from '../../build-types';
import type { Stage } from '../../runner';
import { OutputSet } from '../../outputs';
import { assembleImage, type Region } from '../assemble';
import { bmapXml } from '../bmap';
import { layoutDisk, tableEntries } from '../layout';
import { mbrDiskId } from '../mbr-hint';
import { SECTOR, writeGpt, writeMbr } from '../partition-table';
import { spdxDocument } from '../sbom';
import { serializeLock } from '../../feeds/lock';
import { errnoCode } from '../../store/content-store';
import type { BootPartitionMade, ImageWritten, PartitionContent, PartitionContents } from './image-parts';

export interface PackResult {
  image: string;
  /** Where the image bytes are now: its partial name until the build's outputs are committed, then `image`. */
  source: string;
  sha256: string;
  size: number;
  mappedBytes: number;
  files: BuildOutputFile[];
  manifest: Record<string, unknown>;
}

/** Each partition's content with its size in bytes (what "auto" partitions are sized from). */
async function sizedContents(contents: PartitionContents): Promise<Map<PlannedPartition['role'], PartitionContent & { size: number }>> {
  const out = new Map<PlannedPartition['role'], PartitionContent & { size: number }>();
  for (const [role, c] of contents) out.set(role, { ...c, size: (await stat(c.path)).size });
  return out;
}

function diskFull(err: unknown): boolean {
  return errnoCode(err) === 'ENOSPC' || (err instanceof NexusError && err.code === 'DISK_FULL');
}

/** `outputs`: the build's output set; the stage writes into it and seals it, the build commits it after the last stage. */
export function makePackStage(outputs: OutputSet): Stage<BootPartitionMade, ImageWritten> {
  return {
    id: 'pack',
    title: 'Write the image',
    async run(input, ctx) {
      const { plan, seed, configured, lock, epoch } = input;
      const contents = await sizedContents(input.contents);
      const layout = layoutDisk(
        plan,
        (p) => contents.get(p.role)?.size ?? 0,
        (p) => seed.uuid(`partition:${p.label}`),
      );
      const regions: Region[] = [];
      const entries = tableEntries(layout, plan);
      let backup: { data: Buffer; offset: number } | null = null;
      if (layout.table === 'gpt') {
        const g = writeGpt(layout.size / SECTOR, seed.uuid('disk'), entries);
        regions.push({ offset: 0, source: g.primary, length: g.primary.length, policy: { kind: 'all' } });
        backup = { data: g.backup, offset: g.backupOffset };
      } else {
        const mbr = writeMbr(mbrDiskId(seed), entries);
        regions.push({ offset: 0, source: mbr, length: mbr.length, policy: { kind: 'all' } });
      }
      for (const p of layout.partitions) {
        const c = contents.get(p.role);
        if (!c) throw new NexusError('PARTITION_EMPTY', `Nothing was built for the ${p.label} partition.`, 'This is a bug; please report it with the plan.');
        regions.push({ offset: p.offset, source: c.path, length: c.size, policy: c.policy });
      }
      if (backup) regions.push({ offset: backup.offset, source: backup.data, length: backup.data.length, policy: { kind: 'all' } });

      const out = plan.outputs;
      await mkdir(dirname(out.image), { recursive: true });
      // The caller's set is committed after the later stages (compression, boot test) so every output appears together.
      const set = outputs;
      await set.check();
      try {
        const partial = {
          image: await set.open(out.image, { image: true }),
          checksum: await set.open(out.checksum),
          bmap: await set.open(out.bmap),
          manifest: await set.open(out.manifest),
          sbom: await set.open(out.sbom),
          lock: await set.open(out.lock),
        };
        ctx.progress({ message: `writing ${Math.round(layout.size / 1048576)} MiB image` });
        const a = await assembleImage(partial.image, layout.size, regions, (done, total) => ctx.progress({ bytesDone: done, bytesTotal: total }), ctx.signal);
        const manifest = {
          nexus: { version: NEXUS_VERSION, manifestVersion: 1 },
          box: plan.box,
          board: plan.board,
          arch: plan.arch,
          planHash: plan.planHash,
          sourceDateEpoch: epoch,
          image: { file: basename(out.image), size: layout.size, mappedBytes: a.mappedBytes, sha256: a.sha256 },
          partitionTable: {
            type: layout.table,
            partitions: layout.partitions.map((p) => ({
              index: p.index,
              label: p.label,
              role: p.role,
              type: p.type,
              uuid: layout.table === 'gpt' ? p.uuid : undefined,
              filesystem: p.filesystem,
              offset: p.offset,
              size: p.sizeBytes,
              contentBytes: contents.get(p.role)?.size ?? 0,
            })),
          },
          boot: {
            kernelCmdline: input.kernelCmdline,
            kernel: configured.kernel.image.path,
            kernelRelease: configured.kernel.release,
            modules: configured.modules.files,
          },
          init: { dinit: configured.dinit },
          // What was done with each package install script and trigger instead of running it on the build host.
          scripts: configured.scripts,
          accountsCreated: configured.accountsCreated,
          verity: input.verity,
          // Host tools whose output is in the image, with their version lines: none since issue 17 (the boot FAT,
          // the EROFS/ext4 root, the verity tree, the UKI and the F2FS state partition are all written in-process).
          tools: {},
          lock,
          plan: redactSecrets(plan),
          warnings: input.warnings,
        };
        await writeFile(partial.checksum, `${a.sha256}  ${basename(out.image)}\n`);
        await writeFile(partial.bmap, bmapXml({ imageSize: layout.size, ranges: a.ranges }));
        await writeFile(partial.manifest, JSON.stringify(manifest, null, 2) + '\n');
        await writeFile(partial.sbom, JSON.stringify(spdxDocument(plan, lock, epoch, a.sha256), null, 2) + '\n');
        await writeFile(partial.lock, serializeLock(lock));
        ctx.throwIfCancelled();
        const kinds: Array<[BuildOutputFile['kind'], string, string]> = [
          ['image', out.image, partial.image],
          ['checksum', out.checksum, partial.checksum],
          ['bmap', out.bmap, partial.bmap],
          ['manifest', out.manifest, partial.manifest],
          ['sbom', out.sbom, partial.sbom],
          ['lock', out.lock, partial.lock],
        ];
        const files = await Promise.all(kinds.map(async ([kind, path, now]) => ({ kind, path, size: (await stat(now)).size })));
        set.seal();
        return {
          plan,
          lock,
          warnings: input.warnings,
          result: { image: out.image, source: set.current(out.image), sha256: a.sha256, size: layout.size, mappedBytes: a.mappedBytes, files, manifest },
          extraFiles: [],
        };
      } catch (err) {
        await set.discard();
        if (diskFull(err)) {
          throw new NexusError(
            'DISK_FULL',
            `No space left in ${dirname(out.image)} while writing the image.`,
            'Free some space or choose another output directory, then build again.',
            { cause: err },
          );
        }
        throw err;
      }
    },
  };
}
