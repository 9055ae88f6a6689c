/** `~` and `~/…` in a path typed by a user mean their home directory, as in a shell (not `~other`: refused). */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NexusError } from '../../src-shared/errors';

export function expandHome(path: string, home = homedir()): string {
  const p = path.trim();
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  if (p.startsWith('~'))
    throw new NexusError('PATH_OTHER_HOME', `${p.split('/')[0]} (another user's home) is not supported.`, 'Type the full path, e.g. /home/NAME/…');
  return p;
}
