/** Release mirrors: an http(s) URL or a local directory with the release layout VERSION/ARCH/FILE. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The hint for a file missing from a local mirror directory. */
export const LOCAL_MIRROR_LAYOUT = 'A local mirror must have the release layout VERSION/ARCH/ (for example 8.0/arm64/SHA256.sig).';

export function isRemote(mirror: string): boolean {
  return /^https?:\/\//i.test(mirror);
}

/** Joins a mirror (URL or directory) with relative path parts. */
export function mirrorPath(mirror: string, ...parts: string[]): string {
  if (isRemote(mirror)) return `${mirror.replace(/\/+$/, '')}/${parts.map(encodeURIComponent).join('/')}`;
  const dir = mirror.startsWith('file:') ? fileURLToPath(mirror) : mirror;
  return join(dir, ...parts);
}
