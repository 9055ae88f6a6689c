/**
 * Board "next steps" are written once in profiles/boards/*.yaml with IMAGE standing for the written image
 * (and IMAGE.install.conf for openbox's answers file); this fills in the real paths where they are known.
 */
export function fillNextSteps(steps: readonly string[], files: { image?: string | null; answers?: string | null }): string[] {
  return steps.map((s) => {
    let out = s;
    if (files.answers) out = out.replaceAll('IMAGE.install.conf', files.answers);
    if (files.image) out = out.replaceAll('IMAGE', files.image);
    return out;
  });
}
