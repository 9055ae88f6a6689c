// Fixture, linted as src-shared/leak.ts: shared code is plain TypeScript + zod, usable from every layer.
import { z } from 'zod'; // allowed
import { NexusError } from './errors'; // allowed
import { readFileSync } from 'node:fs'; // denied: Node
import path from 'path'; // denied: Node (bare name)
import { app } from 'electron'; // denied: Electron
import React from 'react'; // denied: React
import { appRoot } from '../src-main/engine/paths'; // denied: main-process code
import { useStore } from 'zustand'; // denied: a package not on the list
export const leak = [z, NexusError, readFileSync, path, app, React, appRoot, useStore];
