/** Alpine's installed-scripts archive (lib/apk/db/scripts.tar): "NAME-VERSION.Q1….SCRIPT" entries → scripts by package. */

export function parseScripts(tar: Buffer): Map<string, { version: string; scripts: Map<string, string> }> {
  const out = new Map<string, { version: string; scripts: Map<string, string> }>();
  // ustar headers are 512-byte blocks: name at 0 (100 bytes), size at 124 (12 octal bytes).
  for (let at = 0; at + 512 <= tar.length;) {
    const name = tar
      .subarray(at, at + 100)
      .toString('latin1')
      .replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString('latin1')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    const data = tar.subarray(at + 512, at + 512 + size).toString('utf8');
    const m = /^(.+)-(\d[^-]*-r\d+)\.Q1[^.]*=?\.(.+)$/.exec(name);
    if (m) {
      const p = out.get(m[1]!) ?? { version: m[2]!, scripts: new Map<string, string>() };
      p.scripts.set(m[3]!, data);
      out.set(m[1]!, p);
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
