// Fixture, linted as src-main/app/leak.ts: the app (handlers, stores) sits on the engine; transports sit on it.
import { join } from 'node:path'; // allowed
import { z } from 'zod'; // allowed
import { buildImage } from '../engine/build'; // allowed
import { launchHelper } from '../privileged/launcher'; // allowed
import { EXIT } from '../cli/output'; // denied: a transport
import { startServer } from '../server/server'; // denied: a transport
import { createWindow } from '../electron/window'; // denied: a transport
import { Command } from 'commander'; // denied: a package not on the list
export const leak = [join, z, buildImage, launchHelper, EXIT, startServer, createWindow, Command];
