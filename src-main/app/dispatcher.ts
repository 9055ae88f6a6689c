/**
 * The transport-free core both adapters (Electron IPC, `nexus serve`) sit on: it checks the command name
 * against the contract, parses the request with its schema (the UI is untrusted), runs the handler,
 * turns any throw into {code, message, hint}, tracks cancellable jobs and fans events out to listeners.
 */
import { toErrorInfo, NexusError } from '../../src-shared/errors';
import {
  commands,
  events,
  isCommandName,
  isEventName,
  jobIdOf,
  progressOf,
  type CommandName,
  type EventName,
  type HandlerContext,
  type Handlers,
  type Payload,
  type Response,
} from '../../src-shared/contract';
import { createThrottle, type Throttle } from './throttle';

type Listener = (payload: unknown) => void;
/** Starts a source of events when the first listener subscribes; returns its stop function. */
export type EventSource = (emit: (payload: unknown) => void) => () => void;

export interface DispatcherOptions {
  /** Event streams produced on demand (e.g. the drive watcher), keyed by event name. */
  sources?: Partial<Record<EventName, EventSource>>;
  /** Parse responses too (on in tests and development). */
  checkResponses?: boolean;
  throttleMs?: number;
}

export class JobRegistry {
  private readonly jobs = new Map<string, { command: CommandName; controller: AbortController }>();

  start(jobId: string, command: CommandName): AbortController {
    if (this.jobs.has(jobId)) throw new NexusError('JOB_EXISTS', `A job with id "${jobId}" is already running.`, 'Use a new job id for each run.');
    const controller = new AbortController();
    this.jobs.set(jobId, { command, controller });
    return controller;
  }

  end(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** Cancels a running job whose contract says it can be cancelled; false when there is no such job. */
  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job || !commands[job.command].job?.cancellable) return false;
    job.controller.abort();
    return true;
  }

  /** How many jobs are running (those whose command matches, when given). */
  running(matches: (command: CommandName) => boolean = () => true): number {
    return [...this.jobs.values()].filter((j) => matches(j.command)).length;
  }

  cancelAll(): void {
    for (const j of this.jobs.values()) j.controller.abort();
  }
}

export class Dispatcher {
  private readonly listeners = new Map<EventName, Set<Listener>>();
  private readonly stops = new Map<EventName, () => void>();
  private readonly throttle: Throttle<{ name: EventName; payload: unknown }>;
  private closed = new AbortController();

  constructor(
    private readonly handlers: Handlers,
    readonly jobs: JobRegistry,
    private readonly options: DispatcherOptions = {},
  ) {
    this.throttle = createThrottle(({ name, payload }) => this.deliver(name, payload), options.throttleMs ?? 100);
  }

  async invoke(name: unknown, request: unknown): Promise<Response<unknown>> {
    if (!isCommandName(name)) {
      return {
        ok: false,
        error: {
          code: 'UNKNOWN_COMMAND',
          message: `"${String(name)}" is not a command of the contract.`,
          hint: 'Update the app: the UI and the main process disagree.',
        },
      };
    }
    const spec = commands[name];
    const parsed = spec.request.safeParse(request ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return {
        ok: false,
        error: {
          code: 'INVALID_REQUEST',
          message: `${name}: ${where}${issue?.message ?? 'invalid request'}`,
          hint: 'Correct the highlighted field and try again.',
        },
      };
    }
    const job = spec.job;
    const jobId = job ? jobIdOf(parsed.data) : undefined;
    let controller: AbortController;
    try {
      controller = jobId ? this.jobs.start(jobId, name) : new AbortController();
    } catch (err) {
      return { ok: false, error: toErrorInfo(err) };
    }
    const onClose = () => controller.abort();
    this.closed.signal.addEventListener('abort', onClose, { once: true });
    try {
      // The request was parsed with this command's own schema just above: the handler takes exactly that type.
      const handler = this.handlers[name] as (req: unknown, ctx: HandlerContext) => Promise<unknown>;
      const value = await handler(parsed.data, { signal: controller.signal, emit: (n, p) => this.emit(n, p) });
      if (this.options.checkResponses) spec.response.parse(value);
      return { ok: true, value };
    } catch (err) {
      return { ok: false, error: toErrorInfo(err) };
    } finally {
      this.closed.signal.removeEventListener('abort', onClose);
      if (jobId) {
        this.jobs.end(jobId);
        // What the throttle held back of the job's progress goes out before its response.
        if (job?.progress) this.throttle.flush(`${job.progress}:${jobId}`);
      }
    }
  }

  /** Publishes an event; the contract's progress streams are throttled per job and phase. */
  emit<E extends EventName>(name: E, payload: Payload<E>): void {
    const progress = progressOf(name, payload);
    if (progress && 'jobId' in payload) this.throttle.push(`${name}:${payload.jobId}`, progress.phase, { name, payload });
    else this.deliver(name, payload);
  }

  subscribe(name: unknown, listener: Listener): () => void {
    if (!isEventName(name)) throw new NexusError('UNKNOWN_EVENT', `"${String(name)}" is not an event of the contract.`);
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener);
    const source = this.options.sources?.[name];
    if (source && !this.stops.has(name))
      this.stops.set(
        name,
        source((p) => this.emit(name, p as Payload<typeof name>)),
      );
    return () => {
      set.delete(listener);
      if (set.size === 0) {
        this.stops.get(name)?.();
        this.stops.delete(name);
      }
    };
  }

  /** Cancels every job and stops every source. */
  close(): void {
    this.closed.abort();
    this.jobs.cancelAll();
    for (const stop of this.stops.values()) stop();
    this.stops.clear();
    this.throttle.close();
  }

  private deliver(name: EventName, payload: unknown): void {
    if (this.options.checkResponses) events[name].parse(payload);
    for (const l of this.listeners.get(name) ?? []) {
      try {
        l(payload);
      } catch {
        /* a failing listener (closed socket) must not break the others */
      }
    }
  }
}
