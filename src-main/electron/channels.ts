/** IPC channel names, all derived from the contract and prefixed "nexus:" (no free-form channel crosses the bridge). */
import type { CommandName, EventName } from '../../src-shared/contract';

export const PREFIX = 'nexus:';
export const commandChannel = (name: CommandName) => `${PREFIX}cmd:${name}`;
export const eventChannel = (name: EventName) => `${PREFIX}evt:${name}`;
export const SUBSCRIBE = `${PREFIX}subscribe`;
export const UNSUBSCRIBE = `${PREFIX}unsubscribe`;
/** The custom scheme the renderer is served from; IPC is accepted only from this origin. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'nexus';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/**
 * True for URLs of our own renderer. Compares scheme and host, not URL.origin: Node's URL reports the
 * origin of non-special schemes such as app:// as "null".
 */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}
