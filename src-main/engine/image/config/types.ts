/** A file, directory or symlink the configure stage adds to the root filesystem. */
export interface GeneratedEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  content?: string | Uint8Array;
  linkTarget?: string;
}

export const file = (path: string, content: string | Uint8Array, mode = 0o644, uid = 0, gid = 0): GeneratedEntry => ({
  path,
  type: 'file',
  mode,
  uid,
  gid,
  content,
});
export const dir = (path: string, mode = 0o755, uid = 0, gid = 0): GeneratedEntry => ({ path, type: 'dir', mode, uid, gid });
export const symlink = (path: string, target: string): GeneratedEntry => ({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: target });
