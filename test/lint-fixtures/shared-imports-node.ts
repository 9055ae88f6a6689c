// Fixture: src-shared must not import Node built-ins, Electron or React.
import { readFileSync } from 'node:fs';
import path from 'path';
import { app } from 'electron';
import React from 'react';
export const leak = [readFileSync, path, app, React];
