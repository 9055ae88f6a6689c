// Fixture, linted as src-main/cli/leak.ts: `nexus …` over the engine (and `nexus serve` over the server).
import { Command } from 'commander'; // allowed
import { loadCatalog } from '../engine/catalog/load'; // allowed
import { startServer } from '../server/server'; // allowed
import { BrowserWindow } from 'electron'; // denied: Electron
import { createWindow } from '../electron/window'; // denied: the Electron shell
import { useStore } from 'zustand'; // denied: a package not on the list
import { App } from '../../src-renderer/components/App'; // denied: renderer code
export const leak = [Command, loadCatalog, startServer, BrowserWindow, createWindow, useStore, App];
