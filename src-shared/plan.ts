/**
 * The BuildPlan: everything a build needs, resolved and canonical. Same inputs → same plan → same hash.
 * The hash keys every cache and fixes UUIDs/salts of the image (see the composition stages).
 */
import { z } from 'zod';
import { Arch } from './arch';
import { BootFileSpec, Filesystems, FileSpec, PartitionRole, Tier } from './catalog';
import { CustomizationSchema } from './customization';

export const PLAN_SCHEMA_VERSION = 1;

/** Where an item of the plan came from: "box:tinybox", "fragment:mesh", "board:rpi5", "generated". */
export const Origin = z.string();

export const PlannedPartition = z.object({
  index: z.number().int().positive(),
  label: z.string(),
  role: PartitionRole,
  /** GPT partition type GUID (Discoverable Partitions Specification where one exists), or MBR type byte like "0c". */
  type: z.string(),
  filesystem: z.enum(['vfat', 'ext4', 'erofs', 'f2fs', 'verity', 'raw']),
  /** Fixed size, or "auto": sized from the content at build time. */
  sizeMiB: z.union([z.number().positive(), z.literal('auto')]),
  /** Where the raw contents come from, for raw partitions (SPL, U-Boot). */
  from: z.string().optional(),
});
export type PlannedPartition = z.infer<typeof PlannedPartition>;

export const BuildPlanSchema = z.object({
  schemaVersion: z.literal(PLAN_SCHEMA_VERSION),
  planHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** loginShell: the shell of root and the user when the Box names one (else /bin/sh). */
  box: z.object({ name: z.string(), tier: Tier, nickname: z.string(), recipe: z.enum(['compose', 'official-image']), loginShell: z.string().optional() }),
  /** Inheritance chain, root first: ["tinybox", "cryptobox"]. */
  chain: z.array(z.string()),
  arch: Arch,
  board: z.object({ name: z.string(), title: z.string(), kind: z.enum(['hardware', 'vm']), console: z.string() }),
  fragments: z.array(z.string()),
  feed: z
    .object({
      name: z.string(),
      branch: z.string(),
      arch: z.string(),
      /** Repositories of `branch`. */
      repositories: z.array(z.string()),
      /** Tagged repositories the packages pin to (`toybox@testing` → testing of edge); only those asked for. */
      tagged: z.array(z.object({ tag: z.string(), branch: z.string(), repository: z.string() })).default([]),
      mirrors: z.array(z.string()),
      keys: z.string(),
    })
    .nullable(),
  /** Package atoms to install, with where each was asked for. Board boot packages are listed in boot.bootPackages too. */
  packages: z.array(z.object({ name: z.string(), from: z.array(Origin) })),
  /** Virtual packages the builder satisfies itself (the resolver treats them as installed). */
  builderProvides: z.array(z.string()),
  services: z.array(
    z.object({
      name: z.string(),
      type: z.enum(['process', 'bgprocess', 'scripted', 'internal']),
      command: z.string().optional(),
      dependsOn: z.array(z.string()),
      description: z.string().optional(),
      from: z.array(Origin),
    }),
  ),
  files: z.array(FileSpec.extend({ from: Origin })),
  kernelModules: z.array(z.string()),
  slots: z.array(z.object({ name: z.string(), description: z.string(), packages: z.array(z.string()) })),
  filesystems: Filesystems.nullable(),
  partitionTable: z.enum(['gpt', 'mbr']),
  partitions: z.array(PlannedPartition),
  boot: z
    .object({
      method: z.enum(['uefi', 'rpi-firmware', 'u-boot-extlinux']),
      loader: z.enum(['uki', 'systemd-boot', 'config.txt', 'extlinux']),
      kernelPackage: z.string(),
      bootPackages: z.array(z.string()),
      fat: z.enum(['fat16', 'fat32']),
      kernelCmdline: z.string(),
      files: z.array(BootFileSpec),
    })
    .nullable(),
  official: z
    .object({
      os: z.enum(['openbsd', 'dragonfly']),
      release: z.string(),
      version: z.string(),
      arch: z.string(),
      image: z.string(),
      checksumFile: z.string(),
      signifyKey: z.string().optional(),
      verification: z.enum(['signify', 'sha256-over-https']),
      mirrors: z.array(z.string()),
      packages: z.array(z.string()),
      notes: z.array(z.string()),
    })
    .nullable(),
  customization: CustomizationSchema,
  budgets: z.object({
    packages: z.object({ min: z.number().optional(), max: z.number().optional() }),
    sizeMiB: z.object({ min: z.number().optional(), max: z.number().optional() }).optional(),
  }),
  outputs: z.object({
    image: z.string(),
    checksum: z.string(),
    bmap: z.string(),
    manifest: z.string(),
    sbom: z.string(),
    lock: z.string(),
  }),
  notes: z.array(z.string()),
  /** Choices that do not fit together but still build (SSH keys and no SSH server, Wi-Fi and no Wi-Fi stack). */
  warnings: z.array(z.string()).default([]),
});
export type BuildPlan = z.infer<typeof BuildPlanSchema>;

/** The user's choices that produce a plan (CLI flags or wizard fields). */
export const BuildRequestSchema = z.object({
  profile: z.string().min(1),
  arch: z.string().optional(),
  target: z.string().optional(),
  /** undefined: the Box's default fragments; []: none. */
  fragments: z.array(z.string()).optional(),
  /** Alpine branch ("v3.24", "edge"); default: the feed's (current stable). */
  branch: z.string().optional(),
  output: z.string().optional(),
  customization: CustomizationSchema.optional(),
});
export type BuildRequest = z.input<typeof BuildRequestSchema>;

/** What a Wi-Fi passphrase becomes in anything written or shown outside the image. */
export const REDACTED = '(redacted)';

/**
 * The plan as it may be printed or saved next to the image (manifest.json, `--plan --json`): the Wi-Fi
 * passphrase is the only secret a plan holds (passwords are already crypt hashes), and it goes only into
 * the image itself (a root-only iwd/wpa_supplicant file).
 */
export function redactSecrets<P extends Pick<BuildPlan, 'customization'>>(plan: P): P {
  const wifi = plan.customization.wifi;
  if (!wifi?.passphrase) return plan;
  return { ...plan, customization: { ...plan.customization, wifi: { ...wifi, passphrase: REDACTED } } };
}
