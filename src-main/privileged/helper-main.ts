/**
 * Entry point of the privileged helper process.
 *   helper-main --token-file FILE [--socket PATH] [--extra-drives /dev/loop3,/dev/loop4]
 * The token file (0600, in a 0700 directory of the app user) is read and deleted at once, so the
 * token never appears on a command line; the path is checked first and only that private file is ever deleted
 * (token-file.ts). Without --socket the channel is stdin/stdout.
 */
import { connect } from 'node:net';
import { toErrorInfo } from '../../src-shared/errors';
import { assertRoot, runHelper, type HelperIo } from './helper';
import { invokingUser } from './source-check';
import { invokingUid, takeTokenFile } from './token-file';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<number> {
  // stdout is the protocol channel: nothing else may print there.
  console.log = console.error;
  const tokenFile = arg('--token-file');
  if (!tokenFile) {
    console.error('nexus flash helper: --token-file is required');
    return 64;
  }
  // Never trusts the path: no symlinks or FIFOs, a private token-format file, deleted only when it is the
  // launcher's own file in its private directory (token-file.ts).
  const { token, deleted, kept } = await takeTokenFile(tokenFile);
  if (!deleted) console.error(`nexus flash helper: left ${tokenFile} in place (${kept})`);
  assertRoot();
  const socketPath = arg('--socket');
  let io: HelperIo = { input: process.stdin, output: process.stdout };
  if (socketPath) {
    const sock = connect(socketPath);
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    io = { input: sock, output: sock };
  }
  const extra = (arg('--extra-drives') ?? '').split(',').filter(Boolean);
  // Tests may shorten the heartbeat timeout, never lengthen it.
  const hb = Math.min(Math.max(Number(arg('--heartbeat-timeout-ms') ?? 5000) || 5000, 300), 5000);
  return runHelper(io, { token, extraDevices: extra, heartbeatTimeoutMs: hb, invokingUser: await invokingUser(invokingUid()) });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    const info = toErrorInfo(err);
    process.stdout.write(`${JSON.stringify({ type: 'fatal', error: info })}\n`);
    console.error(`nexus flash helper: ${info.message}`);
    process.exit(1);
  },
);
