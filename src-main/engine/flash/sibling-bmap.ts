/** The block map written next to an image: NAME.bmap for NAME.img (nexus build), or NAME.img.bmap (bmaptool). */
import { existsSync } from 'node:fs';

export function siblingBmap(image: string): string | null {
  const candidates = [image.replace(/\.img(\.(xz|gz|zst|bz2))?$/i, '.bmap'), `${image.replace(/\.(xz|gz|zst|bz2)$/i, '')}.bmap`, `${image}.bmap`];
  return candidates.find((c) => c !== image && existsSync(c)) ?? null;
}
