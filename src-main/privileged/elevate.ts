/**
 * How the helper gets its rights, per platform, and what to tell the user when that fails.
 *  - already root (sudo CLI, CI): a plain child, stdio channel;
 *  - Linux: pkexec (polkit policy resources/polkit/io.nexus_imager.flash.policy), stdio channel
 *    (pkexec keeps the caller's file descriptors);
 *  - macOS: osascript "do shell script … with administrator privileges", private Unix socket
 *    (do shell script does not connect stdio);
 *  - Windows: PowerShell Start-Process -Verb RunAs (UAC), private named pipe.
 * macOS and Windows paths are type-checked but could not be run on the Linux CI machine.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NexusError } from '../../src-shared/errors';
import { appRoot } from '../engine/paths';

export type Elevation = 'none' | 'pkexec' | 'osascript' | 'uac';

export function chooseElevation(platform = process.platform, uid = process.getuid?.() ?? -1): Elevation {
  if (platform !== 'win32' && uid === 0) return 'none';
  if (platform === 'darwin') return 'osascript';
  if (platform === 'win32') return 'uac';
  return 'pkexec';
}

/** The helper program and its leading arguments (absolute paths: pkexec requires them). */
export function helperProgram(): string[] {
  // Packaged app: electron-builder copies resources/polkit next to app.asar (extraResources), because
  // pkexec must run a real file at the path the polkit policy names, never one inside the archive.
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (process.versions.electron && resourcesPath) {
    const packaged = join(resourcesPath, 'polkit', 'nexus-flash-helper');
    if (existsSync(packaged)) return [packaged];
  }
  // From the repository root, not from this file: the CLI may run as one bundle in build/cli/.
  const source = join(appRoot(), 'src-main', 'privileged', 'helper-main.ts');
  const loader = join(appRoot(), 'node_modules', 'tsx', 'dist', 'loader.mjs');
  if (existsSync(source) && existsSync(loader)) return [process.execPath, '--import', pathToFileURL(loader).href, source];
  return [process.execPath, join(appRoot(), 'build', 'privileged', 'helper-main.js')];
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const appleScriptString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const psQuote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The command line that starts the helper with the chosen elevation. */
export function elevatedCommand(elevation: Elevation, program: string[], args: string[]): { command: string; args: string[] } {
  const full = [...program, ...args];
  switch (elevation) {
    case 'none':
      return { command: full[0]!, args: full.slice(1) };
    case 'pkexec':
      return { command: 'pkexec', args: full };
    case 'osascript': {
      const shell = full.map(shQuote).join(' ');
      return {
        command: 'osascript',
        args: ['-e', `do shell script ${appleScriptString(shell)} with prompt "Nexus Imager needs to write to the drive." with administrator privileges`],
      };
    }
    case 'uac': {
      const argList = full
        .slice(1)
        .map((a) => `"${a.replace(/"/g, '\\"')}"`)
        .join(' ');
      return {
        command: 'powershell.exe',
        args: [
          '-NoProfile',
          '-NonInteractive',
          '-Command',
          `Start-Process -FilePath ${psQuote(full[0]!)} -ArgumentList ${psQuote(argList)} -Verb RunAs -WindowStyle Hidden -Wait`,
        ],
      };
    }
  }
}

/** Turns an elevation tool's failure into an error that says what happened and what to do. */
export function classifyElevationFailure(elevation: Elevation, exitCode: number | undefined, stderr: string): NexusError {
  const err = stderr.trim();
  if (elevation === 'pkexec') {
    if (/No authentication agent found/i.test(err)) {
      return new NexusError(
        'NO_POLKIT_AGENT',
        'No polkit authentication agent is running, so the password prompt cannot be shown.',
        "Start your desktop's polkit agent (e.g. polkit-gnome, lxpolkit, polkit-kde) or run the CLI as root: sudo nexus flash …",
      );
    }
    if (/Error getting authority|Could not connect|polkitd/i.test(err)) {
      return new NexusError(
        'POLKIT_UNAVAILABLE',
        'The polkit service is not running, so administrator rights cannot be requested.',
        'Start polkit (systemctl start polkit) or run the CLI as root: sudo nexus flash …',
      );
    }
    if (exitCode === 126 || /dismissed|Not authorized|authentication.*(failed|cancel)/i.test(err)) {
      return new NexusError(
        'PROMPT_DISMISSED',
        'The administrator password prompt was dismissed or the password was not accepted.',
        'Start the write again and enter an administrator password.',
      );
    }
    if (exitCode === 127 && /cannot run program|No such file/i.test(err)) {
      return new NexusError(
        'HELPER_NOT_INSTALLED',
        'pkexec could not start the flash helper.',
        'Reinstall the application (the polkit policy and helper must be installed).',
      );
    }
  }
  if (elevation === 'osascript' && /User cancel+ed|\(-128\)/i.test(err)) {
    return new NexusError('PROMPT_DISMISSED', 'The administrator password prompt was cancelled.', 'Start the write again and enter an administrator password.');
  }
  if (elevation === 'uac' && /cancel+ed by the user/i.test(err)) {
    return new NexusError('PROMPT_DISMISSED', 'The Windows permission prompt (UAC) was declined.', 'Start the write again and allow the app to make changes.');
  }
  if (/EACCES|Access is denied|permission denied/i.test(err)) {
    return new NexusError(
      'PERMISSION_DENIED',
      'The flash helper was denied access.',
      'Antivirus software may block raw disk access; allow Nexus Imager and retry.',
    );
  }
  const tail = err.split('\n').slice(-3).join(' ');
  return new NexusError(
    'HELPER_FAILED',
    `The flash helper stopped unexpectedly (exit ${exitCode ?? 'unknown'})${tail ? `: ${tail}` : ''}.`,
    'Retry; if it persists, run the CLI with sudo to see the full error.',
  );
}
