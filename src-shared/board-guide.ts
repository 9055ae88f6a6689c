/**
 * What to tell the user about a board: its notes and the steps after writing. A board's own notes and steps are
 * about the images Nexus composes; an official image (openbox) brings its own loader, so only the board's notes
 * and steps for that OS apply. Used by the plan resolver, the CLI and the wizard alike.
 */
interface GuideSource {
  notes: readonly string[];
  nextSteps: readonly string[];
  openbsd?: { supported: boolean; notes: string; nextSteps: readonly string[] } | null;
}

export function boardGuide(board: GuideSource | undefined, officialImage: boolean): { notes: string[]; nextSteps: string[] } {
  if (!board) return { notes: [], nextSteps: [] };
  if (!officialImage) return { notes: [...board.notes], nextSteps: [...board.nextSteps] };
  const o = board.openbsd;
  return o ? { notes: [o.supported ? o.notes : `Hardware support: ${o.notes}`], nextSteps: [...o.nextSteps] } : { notes: [], nextSteps: [] };
}

/**
 * Next steps are written once in profiles/boards/*.yaml with IMAGE standing for the written image (and
 * IMAGE.install.conf for openbox's answers file), USER for the user's login name and HOSTNAME for the Box's host
 * name; this fills in the real ones where they are known (a build knows them, an existing image does not). Without a
 * user account the login is root's.
 */
export function fillNextSteps(
  steps: readonly string[],
  files: { image?: string | null; answers?: string | null; user?: string | null; hostname?: string | null },
): string[] {
  return steps.map((s) => {
    let out = s;
    if (files.answers) out = out.replaceAll('IMAGE.install.conf', files.answers);
    if (files.image) out = out.replaceAll('IMAGE', files.image);
    if (files.hostname) {
      out = out.replace(/\bUSER\b/g, files.user || 'root');
      out = out.replace(/\bHOSTNAME\b/g, files.hostname);
    }
    return out;
  });
}
