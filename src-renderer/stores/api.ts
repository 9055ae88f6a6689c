/** The one place stores get the transport from. Components never import this: they call store actions. */
import type { CommandName, ErrorInfo, NexusApi, Req, Res } from '../../src-shared/contract';

let current: NexusApi | null = null;

export function setApi(api: NexusApi | null): void {
  current = api;
}

export function api(): NexusApi {
  if (!current) throw new Error('The transport is not connected yet.');
  return current;
}

export class CommandError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

/** Calls a command and unwraps its response; failures throw CommandError carrying {code, message, hint}. */
export async function call<C extends CommandName>(name: C, request: Req<C>): Promise<Res<C>> {
  const fn = api()[name] as unknown as (r: Req<C>) => Promise<{ ok: true; value: Res<C> } | { ok: false; error: ErrorInfo }>;
  const r = await fn(request);
  if (!r.ok) throw new CommandError(r.error);
  return r.value;
}

export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof CommandError) return err.info;
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

export function newJobId(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
