/** Where Nexus keeps data on disk: the cache (safe to delete) and the user's settings. */
import { homedir, platform } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository / app root (profiles/, resources/). Electron packaging sets NEXUS_APP_ROOT. */
export function appRoot(): string {
  if (process.env.NEXUS_APP_ROOT) return resolve(process.env.NEXUS_APP_ROOT);
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export const profilesDir = () => join(appRoot(), 'profiles');
export const resourcesDir = () => join(appRoot(), 'resources');

/** XDG cache dir on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows; NEXUS_CACHE_DIR overrides. */
export function cacheDir(): string {
  if (process.env.NEXUS_CACHE_DIR) return resolve(process.env.NEXUS_CACHE_DIR);
  const home = homedir();
  switch (platform()) {
    case 'darwin':
      return join(home, 'Library', 'Caches', 'nexus-imager');
    case 'win32':
      return join(process.env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'nexus-imager', 'Cache');
    default:
      return join(process.env.XDG_CACHE_HOME || join(home, '.cache'), 'nexus-imager');
  }
}

/** XDG config dir (settings remembered between runs, never secrets). */
export function configDir(): string {
  if (process.env.NEXUS_CONFIG_DIR) return resolve(process.env.NEXUS_CONFIG_DIR);
  const home = homedir();
  switch (platform()) {
    case 'darwin':
      return join(home, 'Library', 'Application Support', 'nexus-imager');
    case 'win32':
      return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'nexus-imager');
    default:
      return join(process.env.XDG_CONFIG_HOME || join(home, '.config'), 'nexus-imager');
  }
}
