/**
 * The BuildPlan: everything a build needs, resolved and canonical. Same inputs → same plan → same hash.
 * The hash keys every cache and fixes UUIDs/salts of the image (see the composition stages).
 */
import { z } from 'zod';
import { Arch } from './arch';
import { BootFileSpec, Filesystems, FileSpec, PartitionRole, Tier } from './catalog';
import { CustomizationSchema } from './customization';
import { NexusError } from './errors';

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

const PlanBox = z.object({ name: z.string(), tier: Tier, nickname: z.string(), loginShell: z.string().optional() });

/** Everything both recipes plan: which Box for which board, the customization, budgets, notes. */
const PlanCommon = z.object({
  schemaVersion: z.literal(PLAN_SCHEMA_VERSION),
  planHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Inheritance chain, root first: ["tinybox", "cryptobox"]. */
  chain: z.array(z.string()),
  arch: Arch,
  board: z.object({ name: z.string(), title: z.string(), kind: z.enum(['hardware', 'vm']), console: z.string() }),
  fragments: z.array(z.string()),
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
  partitionTable: z.enum(['gpt', 'mbr']),
  partitions: z.array(PlannedPartition),
  customization: CustomizationSchema,
  budgets: z.object({
    packages: z.object({ min: z.number().optional(), max: z.number().optional() }),
    sizeMiB: z.object({ min: z.number().optional(), max: z.number().optional() }).optional(),
  }),
  notes: z.array(z.string()),
  /** Choices that do not fit together but still build (SSH keys and no SSH server, Wi-Fi and no Wi-Fi stack). */
  warnings: z.array(z.string()).default([]),
});

export type PlanCommon = z.infer<typeof PlanCommon>;

export const FeedPlan = z.object({
  name: z.string(),
  branch: z.string(),
  arch: z.string(),
  /** Repositories of `branch`. */
  repositories: z.array(z.string()),
  /** Tagged repositories the packages pin to (`toybox@testing` → testing of edge); only those asked for. */
  tagged: z.array(z.object({ tag: z.string(), branch: z.string(), repository: z.string() })).default([]),
  mirrors: z.array(z.string()),
  keys: z.string(),
});
export type FeedPlan = z.infer<typeof FeedPlan>;

export const BootPlan = z.object({
  method: z.enum(['uefi', 'rpi-firmware', 'u-boot-extlinux']),
  loader: z.enum(['uki', 'systemd-boot', 'config.txt', 'extlinux']),
  kernelPackage: z.string(),
  bootPackages: z.array(z.string()),
  fat: z.enum(['fat16', 'fat32']),
  kernelCmdline: z.string(),
  files: z.array(BootFileSpec),
});
export type BootPlan = z.infer<typeof BootPlan>;

export const OfficialRelease = z.object({
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
});
export type OfficialRelease = z.infer<typeof OfficialRelease>;

/** IMAGE without a trailing ".img" (any case): the stem every sidecar file is named after. */
export const imageStem = (image: string) => image.replace(/\.img$/i, '');

/** Where a composed build writes: the image and its sidecars, all named after the image. */
export const ComposeOutputs = z.object({
  image: z.string(),
  checksum: z.string(),
  bmap: z.string(),
  manifest: z.string(),
  sbom: z.string(),
  lock: z.string(),
  /** The serial console of the boot test (--boot-test). */
  consoleLog: z.string(),
});
export type ComposeOutputs = z.infer<typeof ComposeOutputs>;

/** Where an official-image build writes: the verified release image, its checksum, the installer's answers, the manifest. */
export const OfficialOutputs = z.object({ image: z.string(), checksum: z.string(), manifest: z.string(), answers: z.string() });
export type OfficialOutputs = z.infer<typeof OfficialOutputs>;

export function composeOutputs(image: string): ComposeOutputs {
  const stem = imageStem(image);
  return {
    image,
    checksum: `${image}.sha256`,
    bmap: `${stem}.bmap`,
    manifest: `${stem}.manifest.json`,
    sbom: `${stem}.spdx.json`,
    lock: `${stem}.packages.lock.json`,
    consoleLog: `${stem}.console.log`,
  };
}

export function officialOutputs(image: string): OfficialOutputs {
  const stem = imageStem(image);
  return { image, checksum: `${image}.sha256`, manifest: `${stem}.manifest.json`, answers: `${stem}.install.conf` };
}

/**
 * A Linux Box composed from Alpine packages: the feed, the filesystems and the boot setup are all there. The other
 * recipe's section is null (kept in the JSON so a plan's hash, and every cache key derived from it, stays the same).
 */
export const ComposePlanSchema = PlanCommon.extend({
  recipe: z.literal('compose'),
  box: PlanBox.extend({ recipe: z.literal('compose') }),
  feed: FeedPlan,
  filesystems: Filesystems,
  boot: BootPlan,
  official: z.null(),
  outputs: ComposeOutputs,
});
export type ComposePlan = z.infer<typeof ComposePlanSchema>;

/** An operating system's own signed release image (openbox), delivered with installer answers. */
export const OfficialPlanSchema = PlanCommon.extend({
  recipe: z.literal('official-image'),
  box: PlanBox.extend({ recipe: z.literal('official-image') }),
  official: OfficialRelease,
  feed: z.null(),
  filesystems: z.null(),
  boot: z.null(),
  outputs: OfficialOutputs,
});
export type OfficialPlan = z.infer<typeof OfficialPlanSchema>;

/** A plan is one recipe or the other, told apart by `recipe` (the Box's recipe, repeated at the top to narrow on). */
export const BuildPlanSchema = z.discriminatedUnion('recipe', [ComposePlanSchema, OfficialPlanSchema]);
export type BuildPlan = z.infer<typeof BuildPlanSchema>;

/** The plan as a ComposePlan, for callers that only compose (an official-image Box is refused with a clear error). */
export function composePlanOf(plan: BuildPlan): ComposePlan {
  if (plan.recipe !== 'compose')
    throw new NexusError('RECIPE_MISMATCH', `${plan.box.name} is an official release image, not composed from packages.`, 'Choose a Linux Box.');
  return plan;
}

/** The plan as an OfficialPlan, for callers that only handle official release images. */
export function officialPlanOf(plan: BuildPlan): OfficialPlan {
  if (plan.recipe !== 'official-image')
    throw new NexusError('RECIPE_MISMATCH', `${plan.box.name} is composed from packages, not an official release image.`, 'Choose openbox.');
  return plan;
}

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
