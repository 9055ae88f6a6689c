// Fixture: the engine must never import Electron.
import { BrowserWindow } from 'electron';
import { readFile } from 'node:fs/promises';
export const leak = [BrowserWindow, readFile];
