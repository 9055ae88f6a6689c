/**
 * Glue between Alpine's container packages and the tools that use them. Alpine's cni-plugins installs the plugins
 * in /usr/libexec/cni (and containerd's config.toml points its CRI plugin there), but `ctr run --cni` and nerdctl
 * look only in go-cni's default /opt/cni/bin, which no Alpine package provides: without the link a container with
 * networking fails with "failed to find plugin".
 */
import { dir, symlink, type GeneratedEntry } from './types';

export const CNI_PLUGIN_DIR = '/usr/libexec/cni';
export const CNI_DEFAULT_BIN_DIR = '/opt/cni/bin';

/** `present(path)`: whether the root already has that path (a package may one day ship the link itself). */
export function containerEntries(installed: Set<string>, present: (path: string) => boolean): GeneratedEntry[] {
  if (!installed.has('cni-plugins') || !present(CNI_PLUGIN_DIR) || present(CNI_DEFAULT_BIN_DIR)) return [];
  return [dir('/opt'), dir('/opt/cni'), symlink(CNI_DEFAULT_BIN_DIR, CNI_PLUGIN_DIR)];
}
