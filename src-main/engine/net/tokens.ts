/** Bearer tokens (the `nexus serve` URL token, the privileged helper's token): random, compared in constant time. */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export function randomToken(bytes: number, encoding: 'hex' | 'base64url'): string {
  return randomBytes(bytes).toString(encoding);
}

/** Constant-time equality (a missing token never matches). */
export function tokensEqual(a: string | null | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
