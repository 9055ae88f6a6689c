// Fixture, linted as src-main/electron/leak.ts: the window and IPC over the app layer, thin.
import { BrowserWindow } from 'electron'; // allowed
import { join } from 'node:path'; // allowed
import { createDispatcher } from '../app/dispatcher'; // allowed
import { cacheDir } from '../engine/paths'; // allowed: host facts
import { buildImage } from '../engine/build'; // denied: the engine is reached through the app layer
import { readFile } from 'node:fs/promises'; // denied: file access belongs to the engine
import { WebSocketServer } from 'ws'; // denied: a package not on the list
import { App } from '../../src-renderer/components/App'; // denied: renderer code
export const leak = [BrowserWindow, join, createDispatcher, cacheDir, buildImage, readFile, WebSocketServer, App];
