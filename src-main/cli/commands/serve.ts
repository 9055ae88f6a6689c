/** `nexus serve`: the desktop wizard in a browser (a flashing station), on 127.0.0.1 with a random token. */
import type { Command } from 'commander';
import { execa } from 'execa';
import { hostApp } from '../../server/host';
import { isLoopback } from '../../server/server';
import { action } from '../output';

interface ServeFlags {
  host: string;
  port: string;
  allowRemote?: boolean;
  mirror?: string;
  open?: boolean;
}

export function register(program: Command) {
  program
    .command('serve')
    .description('serve the Nexus Imager wizard to a browser (HTTP + WebSocket on 127.0.0.1, token-protected)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0 picks a free one)', '0')
    .option('--allow-remote', 'allow listening on a non-loopback address (anyone who can reach it and learns the token can write to your drives)')
    .option('--mirror <url-or-dir>', 'use this package mirror for every build')
    .option('--open', 'open the URL in the default browser')
    .action(
      action(async (flags: ServeFlags) => {
        if (!isLoopback(flags.host) && flags.allowRemote) {
          process.stderr.write(
            `WARNING: listening on ${flags.host}. Anyone on that network who learns the URL below can build images and overwrite drives on this computer. Use it only on a network you trust.\n`,
          );
        }
        const server = await hostApp({
          host: flags.host,
          port: Number(flags.port),
          ...(flags.allowRemote ? { allowRemote: true } : {}),
          ...(flags.mirror ? { mirror: flags.mirror } : {}),
        });
        process.stdout.write(`Nexus Imager is ready. Open this URL in a browser (it carries the access token):\n\n  ${server.url}\n\nPress Ctrl-C to stop.\n`);
        if (flags.open) openBrowser(server.url);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await server.close();
        return 0;
      }),
    );
}

/** Best effort: the URL is printed anyway. */
function openBrowser(url: string): void {
  const [cmd, args]: [string, string[]] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    execa(cmd, args, { detached: true, stdio: 'ignore', reject: false }).unref();
  } catch {
    /* no browser opener: the user opens the printed URL */
  }
}
