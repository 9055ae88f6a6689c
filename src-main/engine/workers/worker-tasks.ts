/** What the engine worker (pool.ts) can run: CPU-heavy functions whose arguments and results are plain data. */
import type { RepoRef } from '../feeds/apkindex';
import type { FeedLimits } from '../feeds/limits';
import type { TrustedKeys } from '../feeds/signature';

/** Verifies, inflates and parses an APKINDEX.tar.gz (~0.3-0.5 s of CPU for Alpine's community index). */
async function scanApkIndex(bytes: Uint8Array, repo: RepoRef, keys: TrustedKeys | null, what: string | undefined, callerLimits: FeedLimits) {
  const { readApkIndexMember, parseApkIndexBuffer, scanOf } = await import('../feeds/apkindex');
  // The caller's limits (tests lower them with withLimits): this thread has its own copy of the module.
  Object.assign((await import('../feeds/limits')).limits, callerLimits);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { description, signer, data } = await readApkIndexMember(buf, repo, keys, what);
  const text = data.toString('latin1');
  const scan = scanOf(parseApkIndexBuffer(data, repo));
  return { description, signer, text, scan };
}

/** Streaming image compression (compress/codec-sessions.ts): one session per file, one call per chunk. */
async function codecOpen(...a: Parameters<typeof import('../compress/codec-sessions').codecOpen>) {
  return (await import('../compress/codec-sessions')).codecOpen(...a);
}
async function codecPush(...a: Parameters<typeof import('../compress/codec-sessions').codecPush>) {
  return (await import('../compress/codec-sessions')).codecPush(...a);
}
async function codecEnd(...a: Parameters<typeof import('../compress/codec-sessions').codecEnd>) {
  return (await import('../compress/codec-sessions')).codecEnd(...a);
}
async function codecAbort(...a: Parameters<typeof import('../compress/codec-sessions').codecAbort>) {
  return (await import('../compress/codec-sessions')).codecAbort(...a);
}

export const tasks = { scanApkIndex, codecOpen, codecPush, codecEnd, codecAbort };
export type Tasks = typeof tasks;
export type TaskName = keyof Tasks;
