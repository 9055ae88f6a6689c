/**
 * The one contract between the UI and the main side, whatever carries it (Electron IPC or `nexus serve`'s
 * WebSocket). Every command has a zod request and response schema and says whether it can be cancelled;
 * every event stream has a zod payload schema. Adapters, the preload, the renderer client and the tests
 * are all derived from these two objects, so a name is written once.
 *
 * Long-running commands are jobs (`job` in their spec): the caller picks the `jobId`, the command resolves with
 * the job's result when it ends, its events carry the same `jobId`, and `job.cancel({jobId})` stops it. Each job
 * names its progress event; the dispatcher's throttling and the desktop's taskbar/notification follow from that.
 */
import { z } from 'zod';
import { Arch } from './arch';
import { BackupProgress, BackupResult } from './backup';
import { Budgets, Tier } from './catalog';
import { Drive } from './drives';
import { ErrorInfoSchema, FlashProgress, FlashResult, FlashSource } from './flash';
import { BuildPlanSchema, BuildRequestSchema } from './plan';
import { LogEvent, ProgressEvent } from './progress';
import { KitAttached, KitBuildable, KitChoice, KitImported, KitPlan, KitPrepared, KitProgress } from './offline-kit';

export { ErrorInfoSchema };

// ---------------------------------------------------------------------------------------------------
// Views: what the UI sees of the engine's data.

export const BoxView = z.object({
  name: z.string(),
  tier: Tier,
  nickname: z.string(),
  philosophy: z.string(),
  description: z.string(),
  users: z.array(z.string()),
  recipe: z.enum(['compose', 'official-image']),
  architectures: z.array(Arch),
  packages: z.array(z.string()),
  budgets: Budgets,
  defaultFragments: z.array(z.string()),
  notes: z.array(z.string()),
});
export type BoxView = z.infer<typeof BoxView>;

export const BoardView = z.object({
  name: z.string(),
  title: z.string(),
  arch: Arch,
  kind: z.enum(['hardware', 'vm']),
  console: z.string(),
  /** The board's illustration as SVG markup (from resources/), shown as an image. */
  illustrationSvg: z.string().nullable(),
  notes: z.array(z.string()),
  nextSteps: z.array(z.string()),
  /** What OpenBSD (openbox) offers on this board; its notes and steps replace the ones above for openbox. */
  openbsd: z.object({ supported: z.boolean(), notes: z.string(), nextSteps: z.array(z.string()) }).nullable(),
});
export type BoardView = z.infer<typeof BoardView>;

export const FragmentView = z.object({ name: z.string(), description: z.string(), requires: z.array(z.string()) });
export type FragmentView = z.infer<typeof FragmentView>;

/** The Alpine branches a Linux Box can be built from: the default (current stable) first in `branches`. */
export const FeedView = z.object({ name: z.string(), branch: z.string(), branches: z.array(z.string()) });
export type FeedView = z.infer<typeof FeedView>;

export const CatalogView = z.object({
  boxes: z.array(BoxView),
  boards: z.array(BoardView),
  fragments: z.array(FragmentView),
  feed: FeedView.nullable().default(null),
});
export type CatalogView = z.infer<typeof CatalogView>;

export const SystemInfo = z.object({
  version: z.string(),
  platform: z.string(),
  transport: z.enum(['electron', 'websocket', 'memory']),
  /** Architectures whose QEMU system emulator is installed ("Try in a VM"). */
  qemu: z.array(Arch),
});
export type SystemInfo = z.infer<typeof SystemInfo>;

export const JobId = z.string().regex(/^[A-Za-z0-9_-]{6,64}$/, 'a job id of 6-64 letters, digits, "-" or "_"');
const JobRef = z.object({ jobId: JobId });
/** The jobId of a job command's parsed request (every job request has one: jobCommand requires it). */
export const jobIdOf = (request: unknown): string => JobRef.parse(request).jobId;

export const OutputFile = z.object({
  kind: z.enum(['image', 'checksum', 'bmap', 'manifest', 'sbom', 'lock', 'compressed', 'console-log', 'answers']),
  path: z.string(),
  size: z.number().nonnegative(),
});

export const BuildOutcome = z.object({
  historyId: z.string(),
  planHash: z.string(),
  image: z.string(),
  sha256: z.string(),
  size: z.number().nonnegative(),
  files: z.array(OutputFile),
  packageCount: z.number().int().nonnegative(),
  warnings: z.array(z.string()),
  bootTest: z.object({ passed: z.boolean(), seconds: z.number() }).optional(),
});
export type BuildOutcome = z.infer<typeof BuildOutcome>;

export const HistoryEntry = z.object({
  id: z.string(),
  /** milliseconds since the epoch */
  time: z.number(),
  box: z.string(),
  arch: Arch,
  board: z.string(),
  fragments: z.array(z.string()),
  image: z.string(),
  sha256: z.string(),
  size: z.number().nonnegative(),
  manifest: z.string().nullable(),
  bmap: z.string().nullable(),
  /** The OpenBSD autoinstall answers written next to an openbox image (null for other Boxes). */
  answers: z.string().nullable().default(null),
  /** False when the image file has been deleted or moved since. */
  present: z.boolean(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** Customization as remembered between runs: never a password hash or a Wi-Fi passphrase. */
export const RememberedCustomization = z
  .object({
    hostname: z.string().optional(),
    userName: z.string().optional(),
    admin: z.boolean().optional(),
    sshKeys: z.array(z.string()).optional(),
    wifiSsid: z.string().optional(),
    wifiCountry: z.string().optional(),
    timezone: z.string().optional(),
    keyboard: z.string().optional(),
    locale: z.string().optional(),
    /** A password / Wi-Fi passphrase was entered (never the secret itself): after a reload the wizard asks for it again. */
    passwordSet: z.boolean().optional(),
    wifiPassphraseSet: z.boolean().optional(),
  })
  .strict();

export const Settings = z
  .object({
    box: z.string().optional(),
    arch: Arch.optional(),
    board: z.string().optional(),
    fragments: z.array(z.string()).optional(),
    /** Alpine branch for Linux Boxes; absent: the current stable branch. */
    branch: z
      .string()
      .regex(/^(v\d+\.\d+|edge)$/)
      .optional(),
    customization: RememberedCustomization.default({}),
    verifyAfterWrite: z.boolean().default(true),
  })
  .strict();
export type Settings = z.infer<typeof Settings>;

export const ImageInfo = z.object({
  path: z.string(),
  size: z.number().nonnegative(),
  compressed: z.boolean(),
  /** The image's block map lying next to it (only the mapped blocks are then written). */
  bmap: z.string().nullable().default(null),
  /** Bytes the image puts on a drive when the file records them (raw size, xz index, zstd frame, zip directory); null: ask image.measure. */
  imageSize: z.number().nonnegative().nullable().default(null),
});
export type ImageInfo = z.infer<typeof ImageInfo>;

/** A write in progress, as listed to a UI that (re)connects. */
export const RunningWrite = z.object({
  jobId: JobId,
  targets: z.array(z.string()),
  /** The image path or URL. */
  source: z.string(),
  /** milliseconds since the epoch */
  startedAt: z.number(),
  progress: FlashProgress.nullable(),
});
export type RunningWrite = z.infer<typeof RunningWrite>;

// ---------------------------------------------------------------------------------------------------
// Commands and events.

export type EventName = keyof typeof events;
export type Payload<E extends EventName> = z.output<(typeof events)[E]>;

/**
 * How a job's progress stream is carried: within one phase only the latest event of a short interval is sent
 * (a new phase always passes at once, and the last held-back event is sent when the job ends), and the share
 * done that a taskbar shows.
 */
interface ProgressSpec<E extends EventName> {
  phase(payload: Payload<E>): string;
  /** 0..1; null: running, share unknown; undefined: this event says nothing about it. */
  fraction(payload: Payload<E>): number | null | undefined;
}
const share = (done: number, total: number | null | undefined) => (total ? Math.min(1, done / total) : null);

export const progressEvents: { [E in 'build.progress' | 'flash.progress' | 'image.progress' | 'backup.progress' | 'kit.progress']: ProgressSpec<E> } = {
  'build.progress': {
    phase: ({ event }) => `${event.stage}:${event.status}`,
    fraction: ({ event }) => (event.status === 'running' ? event.fraction : undefined),
  },
  'flash.progress': {
    phase: ({ progress }) => `${progress.phase}:${progress.targets.map((t) => t.phase).join(',')}`,
    fraction: ({ progress: { targets } }) =>
      share(
        targets.reduce((s, t) => s + t.bytesDone, 0),
        targets.reduce((s, t) => s + (t.bytesTotal ?? 0), 0),
      ),
  },
  'image.progress': { phase: () => 'reading', fraction: ({ bytesRead, bytesTotal }) => share(bytesRead, bytesTotal) },
  'backup.progress': { phase: ({ progress }) => progress.phase, fraction: ({ progress }) => share(progress.bytesDone, progress.bytesTotal) },
  'kit.progress': { phase: ({ progress }) => progress.phase, fraction: ({ progress }) => share(progress.bytesDone ?? 0, progress.bytesTotal) },
};
export type ProgressEventName = keyof typeof progressEvents;
export const isProgressEvent = (n: EventName): n is ProgressEventName => Object.hasOwn(progressEvents, n);

/** A progress event's phase key and share done, for any event name (null: not a progress stream). */
export function progressOf(name: EventName, payload: unknown): { phase: string; fraction: number | null | undefined } | null {
  if (!isProgressEvent(name)) return null;
  // The payload was emitted (and in tests parsed) as this event's schema: the mapped spec takes exactly that type.
  const spec = progressEvents[name] as ProgressSpec<EventName>;
  const p = payload as Payload<EventName>;
  return { phase: spec.phase(p), fraction: spec.fraction(p) };
}

/** What makes a command a long-running job. */
export interface JobSpec {
  /** Its progress stream (one of progressEvents), or null when it has none. */
  progress: ProgressEventName | null;
  /** Its other event streams, delivered in full (log lines, console text, URLs). */
  streams: readonly EventName[];
  /** job.cancel stops it (its processes are killed and its temporary files removed). */
  cancellable: boolean;
  /** The desktop shows its progress in the taskbar and, when a long one ends, a notification naming it ("The build finished."). */
  desktop: { title: string } | null;
  /** Closing the window while it runs asks first (stopping it leaves a drive blank). */
  confirmClose: boolean;
}

export interface CommandSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  request: Req;
  response: Res;
  /** Set for long-running jobs (their request carries the jobId); null for quick commands. */
  job: JobSpec | null;
  description: string;
}

const command = <Req extends z.ZodType, Res extends z.ZodType>(spec: Omit<CommandSpec<Req, Res>, 'job'>): CommandSpec<Req, Res> => ({ ...spec, job: null });
const jobCommand = <Req extends z.ZodType<{ jobId: string }>, Res extends z.ZodType>(
  spec: Omit<CommandSpec<Req, Res>, 'job'>,
  job: Pick<JobSpec, 'progress'> & Partial<JobSpec>,
): CommandSpec<Req, Res> => ({ ...spec, job: { streams: [], cancellable: true, desktop: null, confirmClose: false, ...job } });
const Empty = z.object({}).strict();
const Ok = z.object({ ok: z.literal(true) });

export const commands = {
  'system.info': command({ request: Empty, response: SystemInfo, description: 'Version, platform and which QEMU emulators exist.' }),
  'catalog.get': command({ request: Empty, response: CatalogView, description: 'Boxes, boards and fragments.' }),
  'plan.resolve': command({
    request: BuildRequestSchema,
    response: BuildPlanSchema,
    description: 'Resolves a selection into a build plan (validates it).',
  }),
  'password.hash': command({
    request: z.object({ password: z.string().min(1, 'a password is required').max(256) }).strict(),
    response: z.object({ hash: z.string() }),
    description: 'SHA-512 crypt hash of a password; the plain text is never stored or logged.',
  }),
  'job.cancel': command({
    request: JobRef.strict(),
    response: Ok,
    description: 'Stops a running job (a build, a write, a VM, a download…): its processes end and its temporary files are removed.',
  }),
  'build.start': jobCommand(
    {
      /** offline: packages and indexes from the cache only (an imported offline kit); no mirror is asked. */
      request: z.object({ jobId: JobId, build: BuildRequestSchema, bootTest: z.boolean().default(false), offline: z.boolean().default(false) }).strict(),
      response: BuildOutcome,
      description: 'Builds an image; progress arrives as build.progress / build.log events.',
    },
    { progress: 'build.progress', streams: ['build.log'], desktop: { title: 'The build' } },
  ),
  'vm.try': jobCommand(
    {
      request: z
        .object({
          jobId: JobId,
          historyId: z.string(),
          /** Keep the VM running after the boot marker (the console stays live, input accepted) until job.cancel. */
          keepRunning: z.boolean().default(false),
        })
        .strict(),
      response: z.object({ passed: z.boolean(), seconds: z.number(), log: z.string() }),
      description: 'Boots a built image in QEMU and waits for its boot marker; the serial console arrives as vm.console events.',
    },
    { progress: null, streams: ['vm.console'] },
  ),
  'vm.input': command({
    request: z.object({ jobId: JobId, text: z.string().max(4096) }).strict(),
    response: Ok,
    description: "Types text on the running VM's serial console.",
  }),
  'image.pick': command({
    request: Empty,
    response: z.object({ path: z.string().nullable() }),
    description: 'Native file dialog for an image (desktop app only); null when dismissed.',
  }),
  'image.inspect': command({
    request: z.object({ path: z.string().min(1) }).strict(),
    response: ImageInfo,
    description: 'Size of an existing image file to write.',
  }),
  'image.measure': jobCommand(
    {
      request: z.object({ jobId: JobId, path: z.string().min(1) }).strict(),
      response: z.object({ imageSize: z.number().nonnegative(), exact: z.boolean() }),
      description: 'Counts the decompressed size of a compressed image whose file does not record it (gzip, bzip2); progress as image.progress.',
    },
    { progress: 'image.progress' },
  ),
  'image.fetch': jobCommand(
    {
      request: z
        .object({
          jobId: JobId,
          url: z.string().regex(/^https?:\/\//, 'only http(s) URLs'),
          sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'a SHA-256 as 64 hex digits'),
        })
        .strict(),
      response: ImageInfo,
      description:
        "Downloads an image from a URL into the app's downloads folder and checks its SHA-256, so it is written like a local file; progress as image.progress.",
    },
    { progress: 'image.progress' },
  ),
  'drives.list': command({
    request: Empty,
    response: z.array(Drive),
    description: 'All drives now (system drives included; the UI hides them).',
  }),
  'flash.start': jobCommand(
    {
      request: z
        .object({
          jobId: JobId,
          source: FlashSource,
          bmap: z.string().nullable().default(null),
          targets: z.array(z.string().min(1)).min(1).max(16),
          verify: z.boolean().default(true),
          eject: z.boolean().default(false),
        })
        .strict(),
      response: FlashResult,
      description: 'Writes and verifies an image on one or more drives; progress arrives as flash.progress events.',
    },
    { progress: 'flash.progress', streams: ['flash.stage', 'flash.log', 'flash.finished'], desktop: { title: 'Writing' }, confirmClose: true },
  ),
  'flash.running': command({
    request: Empty,
    response: z.array(RunningWrite),
    description: 'Writes in progress (a reloaded UI finds them and their drives).',
  }),
  'backup.start': jobCommand(
    {
      request: z
        .object({
          jobId: JobId,
          device: z.string().min(1),
          /** File name of the backup (…img.zst) inside the app's output directory. */
          name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.img\.zst$/, 'a file name ending in .img.zst (letters, digits, ".", "-", "_")'),
        })
        .strict(),
      response: BackupResult,
      description:
        'Reads a drive into NAME.img.zst with its .bmap in the output directory (only used blocks where the filesystems tell), verified; progress as backup.progress.',
    },
    { progress: 'backup.progress' },
  ),
  'answers.serve': jobCommand(
    {
      request: z.object({ jobId: JobId, historyId: z.string(), port: z.number().int().min(1024).max(65535).default(8080) }).strict(),
      response: z.object({ fetches: z.number().int().nonnegative() }),
      description:
        "Shares an openbox build's install answers with OpenBSD's installer on the local network until stopped; URLs arrive as answers.ready, fetches as answers.request.",
    },
    { progress: null, streams: ['answers.ready', 'answers.request'] },
  ),
  'history.list': command({ request: Empty, response: z.array(HistoryEntry), description: 'Recent builds, newest first.' }),
  'history.remove': command({
    request: z.object({ id: z.string() }).strict(),
    response: Ok,
    description: 'Forgets a build (its files stay).',
  }),
  'settings.get': command({ request: Empty, response: Settings, description: 'Choices remembered between runs (no secrets).' }),
  'settings.save': command({
    request: Settings,
    response: Settings,
    description: 'Remembers choices; secrets are dropped before writing.',
  }),
  'kit.plan': command({
    request: z.object({ choices: z.array(KitChoice).min(1).max(16) }).strict(),
    response: KitPlan,
    description:
      'What an offline kit for these Boxes/boards/fragments needs and how large it is (and the stick each choice needs), before anything is written.',
  }),
  'kit.prepare': jobCommand(
    {
      request: z.object({ jobId: JobId, choices: z.array(KitChoice).min(1).max(16) }).strict(),
      response: KitPrepared,
      description:
        'Downloads what the choices need and writes the offline kit (one file and its .sha256) into the output folder; progress arrives as kit.progress.',
    },
    { progress: 'kit.progress' },
  ),
  'kit.import': jobCommand(
    {
      request: z.object({ jobId: JobId, path: z.string().min(1).max(4096) }).strict(),
      response: KitImported,
      description: 'Verifies an offline kit (its checksum, every signature) and adds it to the cache; says what can now be built offline.',
    },
    { progress: 'kit.progress' },
  ),
  'kit.status': command({
    request: z.object({ choices: z.array(KitChoice).min(1).max(16) }).strict(),
    response: z.array(KitBuildable),
    description: 'Whether the cache alone (no mirror) can build each choice.',
  }),
  'kit.attach': command({
    request: z.object({ historyId: z.string().min(1), kitFile: z.string().min(1).max(4096) }).strict(),
    response: KitAttached,
    description:
      'Copies a built GPT image with one more partition, NEXUS-KIT, holding the offline kit and its checksum, so the stick carries what it takes to rebuild itself; the copy joins the build history.',
  }),
} as const;

export const events = {
  'build.progress': z.object({ jobId: JobId, event: ProgressEvent }),
  'build.log': z.object({ jobId: JobId, event: LogEvent }),
  'flash.progress': z.object({ jobId: JobId, progress: FlashProgress }),
  /** The write's stages (write, verify, finish) and log lines, as a build reports its own (the runner's model). */
  'flash.stage': z.object({ jobId: JobId, event: ProgressEvent }),
  'flash.log': z.object({ jobId: JobId, event: LogEvent }),
  /** A write ended (for a UI that reloaded and lost the flash.start response). */
  'flash.finished': z.object({ jobId: JobId, result: FlashResult.nullable(), error: ErrorInfoSchema.nullable() }),
  'vm.console': z.object({ jobId: JobId, text: z.string(), marker: z.string().nullable().default(null) }),
  'image.progress': z.object({ jobId: JobId, bytesRead: z.number().nonnegative(), bytesTotal: z.number().nonnegative() }),
  'backup.progress': z.object({ jobId: JobId, progress: BackupProgress }),
  'drives.changed': z.object({ drives: z.array(Drive) }),
  'answers.ready': z.object({ jobId: JobId, port: z.number().int(), urls: z.array(z.string()) }),
  'answers.request': z.object({ jobId: JobId, request: z.object({ from: z.string(), path: z.string(), status: z.number().int(), time: z.number() }) }),
  'kit.progress': z.object({ jobId: JobId, progress: KitProgress }),
} as const;

export type Commands = typeof commands;
export type CommandName = keyof Commands;
export type Req<C extends CommandName> = z.input<Commands[C]['request']>;
export type ParsedReq<C extends CommandName> = z.output<Commands[C]['request']>;
export type Res<C extends CommandName> = z.output<Commands[C]['response']>;

export const COMMAND_NAMES = Object.keys(commands) as CommandName[];
export const EVENT_NAMES = Object.keys(events) as EventName[];
/** Every key the UI's API object has: one function per command and per event stream. */
export const API_KEYS: readonly string[] = [...COMMAND_NAMES, ...EVENT_NAMES];

export const isCommandName = (n: unknown): n is CommandName => typeof n === 'string' && Object.hasOwn(commands, n);
export const isEventName = (n: unknown): n is EventName => typeof n === 'string' && Object.hasOwn(events, n);

// ---------------------------------------------------------------------------------------------------
// Responses and the API shape both transports implement.

export type ErrorInfo = z.infer<typeof ErrorInfoSchema>;
export type Response<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/**
 * What the renderer receives (window.nexus in Electron, the WebSocket client in a browser):
 * `api['build.start'](req)` resolves with a Response, `api['drives.changed'](cb)` returns an unsubscribe function.
 */
export type NexusApi = { [C in CommandName]: (request: Req<C>) => Promise<Response<Res<C>>> } & {
  [E in EventName]: (listener: (payload: Payload<E>) => void) => () => void;
};

/** The main side: one handler per command. A missing handler does not compile. */
export interface HandlerContext {
  /** Aborted when a cancellable job is cancelled (or the server shuts down). */
  signal: AbortSignal;
  emit: <E extends EventName>(name: E, payload: Payload<E>) => void;
}
export type Handlers = { [C in CommandName]: (request: ParsedReq<C>, ctx: HandlerContext) => Promise<Res<C>> };
