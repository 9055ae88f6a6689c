/**
 * Build warnings ranked for a newcomer: "blocking" ones mean the image will not do something that was asked for
 * (no way to log in, an SSH key without an SSH server, Wi-Fi without a Wi-Fi service, a setting the installer
 * drops); everything else is "worth knowing" (budgets, a skipped mirror, a cached checksum list).
 */
export type WarningRank = 'blocking' | 'worth-knowing';

const BLOCKING: readonly RegExp[] = [
  /has no SSH server/i,
  /has no Wi-Fi service/i,
  /cannot log in/i,
  /temporary password/i,
  /is not put into install\.conf/i,
  /kernel modules not in/i,
  /install script effect not applied/i,
];

export function rankWarning(text: string): WarningRank {
  return BLOCKING.some((r) => r.test(text)) ? 'blocking' : 'worth-knowing';
}

/** Blocking first, each group in the engine's order. */
export function rankWarnings(warnings: readonly string[]): Array<{ text: string; rank: WarningRank }> {
  const ranked = warnings.map((text) => ({ text, rank: rankWarning(text) }));
  return [...ranked.filter((w) => w.rank === 'blocking'), ...ranked.filter((w) => w.rank === 'worth-knowing')];
}
