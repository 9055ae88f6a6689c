// The privileged helper as a real child process (CI runs as root, so no elevation prompt): the
// protocol refuses wrong tokens, malformed messages and policy violations, honours the heartbeat,
// and startFlash() drives a whole write through it.
import { execa, type ResultPromise } from 'execa';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HelperToApp, type FlashProgress } from '../../../src-shared/flash';
import { helperProgram } from '../../../src-main/privileged/elevate';
import { startFlash } from '../../../src-main/privileged/launcher';
import { newToken } from '../../../src-main/privileged/protocol';
import { LoopSet, patternBytes } from '../../support/loop-devices';

const MiB = 1 << 20;
const loops = new LoopSet();
let imagePath: string;
let tmp: string;

interface Helper {
  proc: ResultPromise;
  token: string;
  dir: string;
  send(line: string | object): void;
  next(): Promise<HelperToApp>;
}

async function spawnHelper(extra: string[] = [], args: string[] = []): Promise<Helper> {
  const token = newToken();
  // As the launcher does: <private 0700 nexus-helper-* dir>/token (the only file the helper will delete).
  const dir = await mkdtemp(join(tmp, 'nexus-helper-'));
  await chmod(dir, 0o700);
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, token, { mode: 0o600 });
  const [cmd, ...pre] = helperProgram();
  const proc = execa(cmd!, [...pre, '--token-file', tokenFile, ...(extra.length ? ['--extra-drives', extra.join(',')] : []), ...args], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    reject: false,
  });
  const queue: HelperToApp[] = [];
  const waiters: Array<(m: HelperToApp) => void> = [];
  void (async () => {
    for await (const line of proc.iterable({ from: 'stdout' })) {
      const m = HelperToApp.parse(JSON.parse(String(line)));
      if (m.type === 'log' || m.type === 'progress') continue;
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    }
  })();
  return {
    proc,
    dir,
    token,
    send: (l) => proc.stdin!.write(`${typeof l === 'string' ? l : JSON.stringify(l)}\n`),
    next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r))),
  };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'nexus-helper-test-'));
  imagePath = join(await loops.workDir(), 'image.img');
  await writeFile(imagePath, patternBytes(24 * MiB, 5));
});
afterAll(async () => {
  await loops.detachAll();
  await rm(tmp, { recursive: true, force: true });
});

describe('privileged helper protocol', () => {
  it('says ready, then exits on a wrong token without acting on the message', async () => {
    const h = await spawnHelper();
    expect((await h.next()).type).toBe('ready');
    h.send({ type: 'shutdown', token: 'f'.repeat(64) });
    expect(await h.next()).toMatchObject({ type: 'rejected', error: { code: 'BAD_TOKEN' } });
    expect((await h.proc).exitCode).toBe(2);
  });

  it('deletes the token file as soon as it has read it', async () => {
    const h = await spawnHelper();
    await h.next();
    const left = (await execa('ls', [h.dir])).stdout.trim();
    expect(left).toBe('');
    h.send({ type: 'shutdown', token: h.token });
    expect((await h.proc).exitCode).toBe(0);
  });

  it('rejects malformed messages and keeps serving valid ones', async () => {
    const h = await spawnHelper();
    await h.next();
    h.send('this is not json');
    expect(await h.next()).toMatchObject({ type: 'rejected', error: { code: 'MALFORMED_MESSAGE' } });
    h.send({ type: 'flash', token: h.token, request: { source: { kind: 'file', path: imagePath }, targets: [] } });
    expect(await h.next()).toMatchObject({ type: 'rejected', error: { code: 'MALFORMED_MESSAGE', message: expect.stringMatching(/targets/) } });
    h.send({ type: 'format-everything', token: h.token });
    expect(await h.next()).toMatchObject({ type: 'rejected', error: { code: 'MALFORMED_MESSAGE' } });
    h.send({ type: 'ping', token: h.token });
    expect(await h.next()).toMatchObject({ type: 'pong' });
    h.send({ type: 'shutdown', token: h.token });
    expect((await h.proc).exitCode).toBe(0);
  });

  it('re-checks the policy itself: a too-small target and a system drive are refused, nothing written', async () => {
    const fill = patternBytes(16 * MiB, 77);
    const small = await loops.create(16 * MiB, { fill });
    const h = await spawnHelper([small.device]);
    await h.next();
    h.send({ type: 'flash', token: h.token, request: { source: { kind: 'file', path: imagePath }, targets: [small.device] } });
    expect(await h.next()).toMatchObject({ type: 'rejected', error: { code: 'DRIVE_TOO_SMALL' } });
    expect((await h.proc).exitCode).toBe(1);
    const dev = await execa('cmp', ['-n', String(16 * MiB), small.device, small.backing], { reject: false });
    expect(dev.exitCode).toBe(0);

    // The app claims includeSystem but the device name was not confirmed: still refused.
    const root = (await execa('findmnt', ['-n', '-o', 'SOURCE', '/'])).stdout.trim();
    const h2 = await spawnHelper();
    await h2.next();
    h2.send({ type: 'flash', token: h2.token, request: { source: { kind: 'file', path: imagePath }, targets: [root], includeSystem: true } });
    const m = await h2.next();
    expect(m.type).toBe('rejected');
    expect(['SYSTEM_DRIVE', 'DRIVE_NOT_FOUND', 'TARGET_REFUSED']).toContain(m.type === 'rejected' ? m.error.code : '');
    await h2.proc;
  });

  it('refuses extra drives that are not loop or zram devices', async () => {
    const h = await spawnHelper(['/dev/vda']);
    await h.next();
    h.send({ type: 'flash', token: h.token, request: { source: { kind: 'file', path: imagePath }, targets: ['/dev/vda'] } });
    expect(await h.next()).toMatchObject({ type: 'rejected', error: { code: 'EXTRA_DRIVE_REFUSED' } });
    await h.proc;
  });

  it('exits when the app stops sending heartbeats', async () => {
    const h = await spawnHelper([], ['--heartbeat-timeout-ms', '400']);
    await h.next();
    expect((await h.proc).exitCode).toBe(3);
  });

  it('startFlash() writes a loop device through the helper, with progress', async () => {
    const t = await loops.create(32 * MiB);
    const progress: FlashProgress[] = [];
    const r = await startFlash(
      { source: { kind: 'file', path: imagePath }, targets: [t.device] },
      { elevation: 'none', extraDevices: [t.device], onProgress: (p) => progress.push(p) },
    );
    expect(r).toMatchObject({ ok: true, targets: [{ device: t.device, status: 'done', verified: true }] });
    expect(progress.length).toBeGreaterThan(1);
    expect((await execa('cmp', ['-n', String(24 * MiB), imagePath, t.device], { reject: false })).exitCode).toBe(0);
  });

  it('startFlash() reports the policy refusal from the helper as an error with a hint', async () => {
    const small = await loops.create(16 * MiB);
    await expect(
      startFlash({ source: { kind: 'file', path: imagePath }, targets: [small.device] }, { elevation: 'none', extraDevices: [small.device] }),
    ).rejects.toMatchObject({ code: 'DRIVE_TOO_SMALL', hint: expect.any(String) });
  });
});
