// Fixture, linted as src-renderer/leak.tsx: browser code talking to the main process only through the contract.
import { useState } from 'react'; // allowed
import { Button } from '@mui/material'; // allowed
import { create } from 'zustand'; // allowed
import type { NexusApi } from '../src-shared/contract'; // allowed
import { spawn } from 'child_process'; // denied: Node (bare name)
import { readFile } from 'node:fs/promises'; // denied: Node
import { ipcRenderer } from 'electron'; // denied: Electron
import { loadCatalog } from '../src-main/engine/catalog/load'; // denied: main-process code
import YAML from 'yaml'; // denied: a package not on the list
export const leak = [useState, Button, create, spawn, readFile, ipcRenderer, loadCatalog, YAML];
export type Api = NexusApi;
