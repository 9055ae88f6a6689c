/** Line framing and token handling shared by the helper and the launcher. */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { randomToken } from '../engine/net/tokens';

export { tokensEqual } from '../engine/net/tokens';

export const HEARTBEAT_INTERVAL_MS = 1000;
/** The helper gives up on the app (and cancels any write) after this long without a ping. */
export const HEARTBEAT_TIMEOUT_MS = 5000;
/** Messages above this size are refused before parsing. */
export const MAX_LINE = 64 * 1024;

/** 64 hex digits (token-file.ts checks that shape). */
export const newToken = (): string => randomToken(32, 'hex');

export function encode(msg: unknown): string {
  return `${JSON.stringify(msg)}\n`;
}

/** Calls onLine for every line of the stream; resolves at its end. */
export function readLines(stream: Readable, onLine: (line: string) => void): Promise<void> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', onLine);
  return new Promise((resolve) => rl.on('close', resolve));
}
