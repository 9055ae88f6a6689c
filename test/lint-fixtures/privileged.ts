// Fixture, linted as src-main/privileged/leak.ts: the elevated helper is as small as possible.
import { createConnection } from 'node:net'; // allowed
import { execa } from 'execa'; // allowed
import { flash } from '../engine/flash/flash'; // allowed: the writer
import { listDrives } from '../engine/drives/list'; // allowed: drives
import { requireTool } from '../engine/host-tools'; // allowed: host facts
import { tokensEqual } from '../engine/net/tokens'; // allowed: the token helpers
import { download } from '../engine/net/download'; // denied: the helper downloads nothing
import { buildImage } from '../engine/build'; // denied: only drives and the writer
import { createServer } from 'node:http'; // denied: a built-in the helper does not need
import { spawn } from 'node:child_process'; // denied: processes go through execa
import { createDispatcher } from '../app/dispatcher'; // denied: the app layer
import { z } from 'zod'; // denied: a package not on the list
export const leak = [createConnection, execa, flash, listDrives, requireTool, tokensEqual, download, buildImage, createServer, spawn, createDispatcher, z];
