/**
 * `nexus serve-answers FILE`: hands an openbox install.conf to OpenBSD's installer over the local network
 * until Ctrl-C (or after the first successful fetch with --once).
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { NexusError } from '../../../src-shared/errors';
import { serveAnswers } from '../../engine/official/serve';
import { action, interruptSignal, printJson } from '../output';

interface Flags {
  port?: string;
  bind?: string;
  once?: boolean;
  json?: boolean;
}

export function register(program: Command) {
  program
    .command('serve-answers')
    .description('serve an OpenBSD install.conf (made by "nexus build --profile=openbox") to the installer on the local network')
    .argument('<file>', 'the .install.conf written next to the image')
    .option('--port <n>', 'TCP port (80 lets a DHCP server send filename "auto_install" for a fully unattended start)', '8080')
    .option('--bind <address>', 'address to listen on', '0.0.0.0')
    .option('--once', 'stop after the installer has fetched the file')
    .option('--json', 'print the URLs and each request as JSON lines')
    .addHelpText(
      'after',
      `
On the board, at "(I)nstall, (U)pgrade, (A)utoinstall or (S)hell?" type A, then answer
"Response file location?" with one of the printed URLs. See docs/openbox.md.`,
    )
    .action(
      action(async (file: string, flags: Flags) => {
        const port = Number(flags.port ?? 8080);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new NexusError('USAGE_PORT', `--port must be a TCP port number, not "${flags.port}".`, 'Example: --port 8080');
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch {
          throw new NexusError('NOT_FOUND', `${file} cannot be read.`, 'Pass the .install.conf that "nexus build --profile=openbox" wrote next to the image.');
        }
        if (!/^System hostname = /m.test(text))
          throw new NexusError(
            'ANSWERS_INVALID',
            `${file} is not an autoinstall response file (no "System hostname" answer).`,
            'Pass the .install.conf written by the openbox build.',
          );
        const signal = interruptSignal();
        let done: () => void = () => {};
        const finished = new Promise<void>((resolve) => (done = resolve));
        const server = await serveAnswers(text, {
          host: flags.bind ?? '0.0.0.0',
          port,
          onRequest: (r) => {
            if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'request', ...r })}\n`);
            else process.stderr.write(`${new Date(r.time).toISOString()} ${r.from} GET ${r.path} → ${r.status}\n`);
            if (flags.once && r.status === 200) done();
          },
        });
        if (flags.json) printJson({ urls: server.urls, port: server.port });
        else {
          process.stdout.write(`Serving ${file} on port ${server.port}. At the installer's "Response file location?" prompt type:\n`);
          for (const u of server.urls) process.stdout.write(`  ${u}\n`);
          process.stdout.write('Press Ctrl-C to stop.\n');
        }
        signal.addEventListener('abort', () => done(), { once: true });
        await finished;
        await server.close();
        return 0;
      }),
    );
}
