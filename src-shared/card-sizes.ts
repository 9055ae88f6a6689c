/**
 * Which cards an image fits on, in the sizes printed on SD cards and USB sticks. A card sold as "N GB" holds N×10⁹
 * bytes at most and often a little less (measured cards report 0.97-0.999 of it), so an image is said to fit a size
 * only when it is at most 96 % of it.
 */
import { formatBytes } from './format';

export const CARD_SIZES_GB: readonly number[] = [0.128, 0.256, 0.512, 1, 2, 4, 8, 16, 32, 64, 128, 256];
const USABLE = 0.96;

const label = (gb: number) => (gb < 1 ? `${Math.round(gb * 1000)} MB` : `${gb} GB`);

/** The smallest marketed card size the image fits on, or null when it is larger than every size listed. */
export function smallestCardFor(imageBytes: number): string | null {
  const gb = CARD_SIZES_GB.find((g) => imageBytes <= g * 1e9 * USABLE);
  return gb === undefined ? null : label(gb);
}

/** "257 MiB: fits cards and sticks of 512 MB or larger." */
export function cardFitText(imageBytes: number): string {
  const smallest = smallestCardFor(imageBytes);
  return smallest
    ? `${formatBytes(imageBytes)}: fits cards and USB sticks of ${smallest} or larger.`
    : `${formatBytes(imageBytes)}: needs a drive larger than ${label(CARD_SIZES_GB.at(-1)!)}.`;
}
