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
