// Fixture: the renderer must not import Node, Electron or main-process code.
import { spawn } from 'child_process';
import { ipcRenderer } from 'electron';
import { loadCatalog } from '../../src-main/engine/catalog/load';
export const leak = [spawn, ipcRenderer, loadCatalog];
