// Fixture, linted as src-main/server/leak.ts: HTTP + WebSocket over the app layer; the engine only for its paths.
import { createServer } from 'node:http'; // allowed
import { WebSocketServer } from 'ws'; // allowed
import { createDispatcher } from '../app/dispatcher'; // allowed
import { appRoot } from '../engine/paths'; // allowed: host facts
import { buildImage } from '../engine/build'; // denied: the engine is reached through the app layer
import { EXIT } from '../cli/output'; // denied: the CLI
import { BrowserWindow } from 'electron'; // denied: Electron
export const leak = [createServer, WebSocketServer, createDispatcher, appRoot, buildImage, EXIT, BrowserWindow];
