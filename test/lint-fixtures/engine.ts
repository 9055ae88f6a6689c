// Fixture, linted as src-main/engine/leak.ts: plain Node + the listed packages + src-shared, nothing above it.
import { readFile } from 'node:fs/promises'; // allowed
import { execa } from 'execa'; // allowed
import { NexusError } from '../../src-shared/errors'; // allowed
import { writeImage } from './flash/flash'; // allowed
import { BrowserWindow } from 'electron'; // denied: Electron
import { createDispatcher } from '../app/dispatcher'; // denied: the app layer sits above the engine
import { EXIT } from '../cli/output'; // denied: the CLI sits above the engine
import { WebSocketServer } from 'ws'; // denied: a package not on the list
import { createRoot } from 'react-dom/client'; // denied: renderer package
export const leak = [readFile, execa, NexusError, writeImage, BrowserWindow, createDispatcher, EXIT, WebSocketServer, createRoot];
