/**
 * The catalog of what can be built, as data: Boxes (profiles), boards, fragments and feeds.
 * Files in profiles/ are YAML validated by these schemas. Box files may omit fields they inherit
 * (`extends`); the merged result must satisfy BoxSchema.
 */
import { z } from 'zod';
import { Arch } from './arch';

const name = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, "-" and "_", starting with a letter');
/** An APK dependency atom as Alpine writes it: name with optional constraint (e.g. "linux-lts", "so:libc.musl-x86_64.so.1", "musl>=1.2"). */
const packageAtom = z
  .string()
  .regex(
    /^!?[A-Za-z0-9_.+:/-]+(@[a-z][a-z0-9_-]*)?([<>=~]{1,2}[A-Za-z0-9_.+-]+)?$/,
    'an Alpine package name, optionally pinned to a tagged repository (name@testing) and with a version constraint',
  );

/**
 * Repositories of the chosen branch. Alpine's `testing` exists only on edge: a Box on a stable branch that
 * needs one package from it pins that package to the feed's tagged repository instead (`toybox@testing`), as
 * apk users do, so inheritance can never drag a whole edge-only repository into a stable build.
 */
export const RepositoryName = z.string().refine((r) => r === 'main' || r === 'community', {
  message:
    'repositories are "main" and "community" of the chosen branch; Alpine\'s "testing" exists only on edge: pin single packages to it with name@testing (the feed\'s tagged repository)',
});

/**
 * Problems of a path inside the image as a profile gives it, or null: absolute, normalised (no empty, "." or
 * ".." segments, no trailing "/"), not the root itself, no control characters. The image stage writes these
 * paths under a staging directory on the build host, so anything else could name a host path.
 */
export function imagePathProblem(p: string): string | null {
  if (!p.startsWith('/')) return 'must be an absolute path inside the image (starting with "/")';
  if (p === '/') return 'must name something inside the image, not its root "/"';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p)) return 'must not contain control characters (NUL, newline, tab…)';
  if (p.endsWith('/')) return 'must not end with "/"';
  const segs = p.slice(1).split('/');
  if (segs.includes('')) return 'must not contain "//"';
  if (segs.includes('..')) return 'must not contain ".." segments (it must stay inside the image)';
  if (segs.includes('.')) return 'must not contain "." segments (write the normalised path)';
  return null;
}

/**
 * Problems of a boot file's place on the boot (FAT) partition, or null: relative to the partition, normalised, and
 * only characters a FAT long name and mtools take literally. The boot stage writes it under a staging directory on
 * the build host, so "../" or an absolute path would name a host path. `dir` allows one trailing "/" (a directory copy).
 */
export function bootPathProblem(p: string, dir = false): string | null {
  if (p.startsWith('/')) return 'must be relative to the boot partition (no leading "/")';
  const body = dir && p.endsWith('/') ? p.slice(0, -1) : p;
  if (body === '') return 'must name a file or directory on the boot partition';
  if (!/^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/.test(body))
    return 'may only use letters, digits and . _ + - between single "/" (a directory copy ends with "/")';
  const segs = body.split('/');
  if (segs.includes('..')) return 'must not contain ".." segments (it must stay on the boot partition)';
  if (segs.includes('.')) return 'must not contain "." segments (write the normalised path)';
  return null;
}

/** Where a boot file comes from: the kernel, a generated file, or a package's file ("package:NAME:/abs/path", "/" at the end for a directory). */
export function bootSourceProblem(from: string): string | null {
  if (from === 'kernel' || /^generated:[a-z][a-z0-9.-]*$/.test(from)) return null;
  const m = /^package:([A-Za-z0-9_.+-]+):(\/.*)$/.exec(from);
  if (!m) return 'must be "kernel", "generated:NAME" or "package:NAME:/path/in/the/package"';
  const path = m[2]!.length > 1 && m[2]!.endsWith('/') ? m[2]!.slice(0, -1) : m[2]!;
  const problem = imagePathProblem(path);
  return problem ? `the package path ${problem}` : null;
}

/** One file (or, with a trailing "/", a package directory) on the boot partition. */
export const BootFileSpec = z
  .object({ dest: z.string(), from: z.string() })
  .strict()
  .superRefine((f, ctx) => {
    const source = bootSourceProblem(f.from);
    if (source) ctx.addIssue({ code: 'custom', path: ['from'], message: `"${f.from}": ${source}` });
    const dirCopy = f.from.startsWith('package:') && f.from.endsWith('/');
    if (f.dest.endsWith('/') && !dirCopy)
      ctx.addIssue({ code: 'custom', path: ['dest'], message: `"${f.dest}": only a package directory ("package:NAME:/dir/") can be copied to a directory` });
    const dest = bootPathProblem(f.dest, dirCopy);
    if (dest) ctx.addIssue({ code: 'custom', path: ['dest'], message: `"${f.dest}": ${dest}` });
  });

/** A path inside the image (files[].path). */
const imagePath = z.string().superRefine((p, ctx) => {
  const problem = imagePathProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: `"${p}": ${problem}` });
});

/**
 * A mount point inside the image: an image path that also goes unquoted into fstab and the generated shell
 * scripts, so only letters, digits and . _ - + @ in its segments.
 */
const mountpoint = imagePath.refine((p) => /^(\/[A-Za-z0-9._+@-]+)+$/.test(p), {
  message: 'a mount point may only use letters, digits and . _ - + @ between its "/"',
});

export const FileSpec = z
  .object({
    path: imagePath,
    content: z.string(),
    mode: z
      .string()
      .regex(/^0?[0-7]{3,4}$/, 'an octal mode like "0644"')
      .default('0644'),
    owner: z.string().default('root'),
    group: z.string().default('root'),
  })
  .strict();
export type FileSpec = z.infer<typeof FileSpec>;

/** A dinit service. `command` absent means the service file comes from a package and is only enabled. */
export const ServiceSpec = z.union([
  name.transform((n) => ({ name: n })),
  z
    .object({
      name,
      type: z.enum(['process', 'bgprocess', 'scripted', 'internal']).default('process'),
      command: z.string().optional(),
      dependsOn: z.array(name).default([]),
      description: z.string().optional(),
    })
    .strict(),
]);
export type ServiceSpec = z.infer<typeof ServiceSpec>;

export const Tier = z.enum(['STC-1', 'STC-2', 'STC-3', 'STC-4', 'STC-5', 'BSD']);
export type Tier = z.infer<typeof Tier>;

export const RootFs = z
  .object({
    /** initramfs: the whole system runs from RAM (rescue style); ext4: writable root; erofs: read-only, compressed. */
    type: z.enum(['initramfs', 'ext4', 'erofs']),
    verity: z.boolean().default(false),
    compression: z.enum(['none', 'lz4hc', 'lzma']).optional(),
  })
  .strict();

/** Mounted by the early userspace or the kernel itself: never a persistent overlay. */
const PSEUDO_FS = ['/proc', '/sys', '/dev', '/run', '/tmp'];
export const Filesystems = z
  .object({
    root: RootFs,
    /** Persistent writable state over a read-only root ("Notebook"). */
    overlay: z
      .object({
        type: z.literal('f2fs'),
        sizeMiB: z.number().int().min(128),
        mountpoint: mountpoint.default('/var/lib/nexus/state'),
        /**
         * Directories of the read-only root that keep their changes across reboots: each gets its own overlay whose
         * upper and work directories live on the state partition (<mountpoint>/overlay/<path>/{upper,work}). Everything
         * else under / stays in RAM.
         */
        persist: z.array(mountpoint).default([]),
      })
      .strict()
      .superRefine((o, ctx) => {
        const under = (p: string, d: string) => p === d || p.startsWith(`${d}/`);
        o.persist.forEach((p, i) => {
          const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['persist', i], message: `"${p}": ${message}` });
          if (o.persist.indexOf(p) !== i) issue('is listed twice');
          if (PSEUDO_FS.some((d) => under(p, d))) issue(`is a kernel or RAM filesystem at boot (${PSEUDO_FS.join(', ')}): it cannot be persisted`);
          if (under(o.mountpoint, p) || under(p, o.mountpoint)) issue(`contains or lies inside the state partition's mount point ${o.mountpoint}`);
        });
      })
      .optional(),
    /** Encrypted vault created on first boot, never inside the image. */
    vault: z
      .object({
        type: z.literal('dm-crypt'),
        cipher: z.literal('aes-xts-plain64'),
        keyBits: z.literal(512),
        createdOn: z.literal('first-boot'),
        mountpoint: mountpoint.default('/vault'),
      })
      .strict()
      .optional(),
  })
  .strict();
export type Filesystems = z.infer<typeof Filesystems>;

export const Budgets = z
  .object({
    packages: z.object({ min: z.number().int().nonnegative().optional(), max: z.number().int().positive().optional() }).strict(),
    sizeMiB: z.object({ min: z.number().nonnegative().optional(), max: z.number().positive().optional() }).strict().optional(),
  })
  .strict();

export const Slot = z
  .object({
    name,
    description: z.string(),
    /** Empty by default: a slot is a place for packages the user or a later release adds. */
    packages: z.array(packageAtom).default([]),
  })
  .strict();

export const OfficialImage = z
  .object({
    os: z.enum(['openbsd', 'dragonfly']),
    /** Name of the entry in profiles/releases.yaml that gives versions, mirrors and file names. */
    release: z.string(),
    verification: z.enum(['signify', 'sha256-over-https']),
  })
  .strict();

export const BoxSchema = z
  .object({
    name,
    tier: Tier,
    nickname: z.string().min(1),
    philosophy: z.string().min(1),
    description: z.string().min(1),
    users: z.array(z.string().min(1)).min(1),
    extends: name.optional(),
    recipe: z.enum(['compose', 'official-image']),
    architectures: z.array(Arch).min(1),
    /** Repositories of the feed's branch this Box needs ("main", "community"); declared per Box, inherited like any list. */
    repositories: z.array(RepositoryName).default(['main']),
    packages: z.array(packageAtom).default([]),
    /** Virtual packages the image builder itself satisfies (e.g. initramfs-generator: Nexus makes the initramfs). */
    builderProvides: z.array(z.string()).default([]),
    services: z.array(ServiceSpec).default([]),
    files: z.array(FileSpec).default([]),
    kernelModules: z.array(z.string()).default([]),
    /**
     * Login shell of the accounts Nexus creates (root and the user), e.g. /bin/zsh; default /bin/sh. A package of
     * the Box must install it (the build stops otherwise).
     */
    loginShell: z
      .string()
      .regex(/^(\/[A-Za-z0-9._+-]+)+$/, 'an absolute path such as /bin/zsh')
      .optional(),
    filesystems: Filesystems.optional(),
    budgets: Budgets,
    slots: z.array(Slot).default([]),
    official: OfficialImage.optional(),
    /** Fragments applied when the user names none. */
    defaultFragments: z.array(name).default([]),
    notes: z.array(z.string()).default([]),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.recipe === 'compose' && !b.filesystems) ctx.addIssue({ code: 'custom', path: ['filesystems'], message: 'a compose Box needs filesystems' });
    if (b.recipe === 'official-image' && !b.official)
      ctx.addIssue({ code: 'custom', path: ['official'], message: 'an official-image Box needs an "official" section' });
  });
export type Box = z.infer<typeof BoxSchema>;

/** What a Box file may contain before inheritance is applied: every field optional except its name. */
export const BoxFileSchema = z.object({ name }).catchall(z.unknown());

export const PartitionRole = z.enum(['esp', 'boot', 'spl', 'uboot', 'root', 'root-verity', 'state']);
export type PartitionRole = z.infer<typeof PartitionRole>;

export const BoardSchema = z
  .object({
    name,
    title: z.string(),
    arch: Arch,
    kind: z.enum(['hardware', 'vm']),
    partitionTable: z.enum(['gpt', 'mbr']),
    /** How the firmware finds the kernel. */
    boot: z
      .object({
        method: z.enum(['uefi', 'rpi-firmware', 'u-boot-extlinux']),
        /** Size of the FAT partition the firmware reads (ESP or boot). */
        partitionMiB: z.number().int().min(32),
        fat: z.enum(['fat16', 'fat32']),
        loader: z.enum(['uki', 'systemd-boot', 'config.txt', 'extlinux']),
        /** Files the board's firmware needs, by path on the boot partition and where they come from. */
        files: z.array(BootFileSpec).default([]),
        /** Raw partitions the boot ROM reads (VisionFive 2 SPL and U-Boot FIT). */
        raw: z
          .array(
            z
              .object({
                role: z.enum(['spl', 'uboot']),
                sizeMiB: z.number().positive(),
                typeGuid: z.string(),
                from: z.string().refine((f) => f.startsWith('package:') && !f.endsWith('/') && bootSourceProblem(f) === null, {
                  message: 'must be "package:NAME:/path/of/a/file" (normalised, absolute)',
                }),
              })
              .strict(),
          )
          .default([]),
      })
      .strict(),
    kernelPackage: z.string(),
    /** Extra packages the board needs to boot (firmware, device trees, loaders). */
    bootPackages: z.array(packageAtom).default([]),
    /** Packages the board adds when a fragment is chosen: the firmware of its Wi-Fi chips for "wifi". */
    fragmentPackages: z.record(z.string(), z.array(packageAtom)).default({}),
    kernelModules: z.array(z.string()).default([]),
    console: z.string(),
    qemu: z
      .object({
        binary: z.string(),
        machine: z.string(),
        cpu: z.string().optional(),
        firmware: z.string().optional(),
      })
      .strict()
      .optional(),
    /** What OpenBSD offers for this board, if anything. */
    openbsd: z
      .object({
        supported: z.boolean(),
        image: z.string().optional(),
        notes: z.string(),
        /** Steps after writing the OpenBSD installer (they replace the board's own nextSteps for openbox). */
        nextSteps: z.array(z.string()).default([]),
      })
      .strict()
      .optional(),
    /** Notes and nextSteps below are about the images Nexus composes (Linux Boxes); openbox uses `openbsd`. */
    illustration: z.string().optional(),
    notes: z.array(z.string()).default([]),
    /** Steps shown after a successful write (insert the card, boot switch, first login). */
    nextSteps: z.array(z.string()).default([]),
  })
  .strict();
export type Board = z.infer<typeof BoardSchema>;

export const FragmentSchema = z
  .object({
    name,
    description: z.string(),
    packages: z.array(packageAtom).default([]),
    /** Packages for OpenBSD boxes (pkg_add names), when the fragment applies there. */
    openbsdPackages: z.array(z.string()).default([]),
    services: z.array(ServiceSpec).default([]),
    files: z.array(FileSpec).default([]),
    kernelModules: z.array(z.string()).default([]),
    repositories: z.array(RepositoryName).default([]),
    /** Fragments this one needs; they are added first. */
    requires: z.array(name).default([]),
  })
  .strict();
export type Fragment = z.infer<typeof FragmentSchema>;

export const AlpineBranch = z.string().regex(/^(v\d+\.\d+|edge)$/, 'an Alpine branch such as "v3.24" or "edge"');

export const FeedSchema = z
  .object({
    name,
    kind: z.literal('apk'),
    description: z.string(),
    /** The default branch: Alpine's current stable one. */
    branch: AlpineBranch,
    /** Branches offered in the app and accepted by --branch, newest first (edge last). */
    branches: z.array(AlpineBranch).min(1),
    /**
     * Tagged repositories (apk's `@tag URL` lines): a package is taken from one only when it is asked for as
     * `name@tag`, and its own dependencies may come from there too; everything else stays on the branch.
     */
    tagged: z
      .array(z.object({ tag: z.string().regex(/^[a-z][a-z0-9_-]*$/), branch: AlpineBranch, repository: z.string().regex(/^[a-z]+$/) }).strict())
      .default([]),
    mirrors: z.array(z.string().url()).min(1),
    /** Directory of trusted public keys, relative to resources/. */
    keys: z.string(),
  })
  .strict();
export type Feed = z.infer<typeof FeedSchema>;

export const ReleaseSchema = z
  .object({
    name,
    os: z.enum(['openbsd', 'dragonfly']),
    version: z.string(),
    mirrors: z.array(z.string().url()).min(1),
    /** Public key file (relative to resources/) for signify; absent when upstream does not sign. */
    signifyKey: z.string().optional(),
    checksumFile: z.string(),
    /** Image file name per architecture. */
    images: z.record(z.string(), z.string()),
    notes: z.array(z.string()).default([]),
  })
  .strict();
export type Release = z.infer<typeof ReleaseSchema>;

export interface Catalog {
  boxes: Map<string, Box>;
  boards: Map<string, Board>;
  fragments: Map<string, Fragment>;
  feeds: Map<string, Feed>;
  releases: Map<string, Release>;
  /** The raw, un-merged Box files, for `nexus profiles show --raw` and inheritance. */
  rawBoxes: Map<string, Record<string, unknown>>;
}
