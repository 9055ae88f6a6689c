/**
 * "No mirror answered" as its own error, MIRROR_UNREACHABLE, so a caller can act on it: the app's Build step offers
 * to build from the offline kit / the cache instead of failing, the CLI hints at --offline. A mirror that answered
 * with a refusal (404, a bad signature) is a different failure and keeps its own code.
 */
import { NexusError } from '../../../src-shared/errors';
import { errnoCode, isRecord } from '../../../src-shared/narrow';
import { MIRROR_UNREACHABLE } from '../../../src-shared/offline-kit';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True when `err` says nothing answered: a network error, or retries that all failed without an answer (DOWNLOAD_FAILED). */
export function isUnreachable(err: unknown): boolean {
  const code = errnoCode(err);
  if (err instanceof NexusError) return code === 'DOWNLOAD_FAILED' || code === MIRROR_UNREACHABLE;
  const cause = isRecord(err) ? errnoCode(err.cause) : undefined;
  return (code !== undefined && NETWORK_CODES.has(code)) || (cause !== undefined && NETWORK_CODES.has(cause));
}

export function mirrorUnreachable(message: string): NexusError {
  return new NexusError(
    MIRROR_UNREACHABLE,
    message,
    'No package mirror can be reached. Build from the offline kit or the cache instead (the Build step offers it; on the command line: nexus build … --offline after nexus cache import FILE), or check the network and the mirror.',
  );
}
