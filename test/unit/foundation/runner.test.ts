import { access } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { NexusError } from '../../../src-shared/errors';
import type { PipelineEvent, ProgressEvent } from '../../../src-shared/progress';
import { Pipeline, sleep, type Stage } from '../../../src-main/engine/runner';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Runs `stage` after a stage that records a temp dir, aborting once the stage reports it started. */
async function cancelDuring(stage: Stage<string, unknown>) {
  const ac = new AbortController();
  const events: PipelineEvent[] = [];
  let tmp = '';
  const prep: Stage<void, string> = { id: 'prep', title: 'Prepare', run: async (_i, ctx) => (tmp = await ctx.tempDir()) };
  const started = Date.now();
  const p = Pipeline.start<void>()
    .then(prep)
    .then(stage)
    .then({ id: 'after', title: 'After', run: async () => 'never' })
    .run(undefined, {
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'log' && e.message === 'started') setTimeout(() => ac.abort(), 50);
      },
    });
  await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  const elapsed = Date.now() - started;
  const status = (id: string) => events.filter((e): e is ProgressEvent => e.type === 'progress' && e.stage === id).at(-1)?.status;
  expect(status(stage.id)).toBe('cancelled');
  expect(status('after')).toBe('skipped');
  expect(await exists(tmp)).toBe(false);
  return elapsed;
}

describe('pipeline runner', () => {
  it('chains typed stages and reports pending → running → done', async () => {
    const events: PipelineEvent[] = [];
    const out = await Pipeline.start<number>()
      .then({ id: 'double', title: 'Double', run: async (n: number) => n * 2 })
      .then({ id: 'show', title: 'Show', run: async (n: number) => `=${n}` })
      .run(21, { onEvent: (e) => events.push(e) });
    expect(out).toBe('=42');
    const seq = events.filter((e): e is ProgressEvent => e.type === 'progress').map((e) => `${e.stage}:${e.status}`);
    expect(seq).toEqual(['double:pending', 'show:pending', 'double:running', 'double:done', 'show:running', 'show:done']);
  });

  it('cancels a CPU-bound stage that checks the signal', async () => {
    await cancelDuring({
      id: 'cpu',
      title: 'CPU',
      run: async (_i, ctx) => {
        ctx.log('info', 'started');
        for (;;) {
          ctx.throwIfCancelled();
          await new Promise((r) => setImmediate(r));
        }
      },
    });
  });

  it('cancels a child-process stage (the process is killed)', async () => {
    let pid: number | undefined;
    const elapsed = await cancelDuring({
      id: 'child',
      title: 'Child',
      run: async (_i, ctx) => {
        const child = execa('sleep', ['30'], { cancelSignal: ctx.signal });
        pid = child.pid;
        ctx.log('info', 'started');
        await child;
      },
    });
    expect(elapsed).toBeLessThan(5000);
    expect(() => process.kill(pid!, 0)).toThrow();
  });

  it('cancels a streaming stage', async () => {
    await cancelDuring({
      id: 'stream',
      title: 'Stream',
      run: async (_i, ctx) => {
        ctx.log('info', 'started');
        let n = 0;
        const src = new Readable({
          read() {
            setTimeout(() => this.push(Buffer.alloc(1024)), 1);
          },
        });
        const sink = new Writable({
          write(chunk, _e, cb) {
            n += chunk.length;
            ctx.progress({ bytesDone: n });
            cb();
          },
        });
        await pipeline(src, sink, { signal: ctx.signal });
      },
    });
  });

  it('cancels a stage waiting on a timer', async () => {
    await cancelDuring({
      id: 'wait',
      title: 'Wait',
      run: async (_i, ctx) => {
        ctx.log('info', 'started');
        await sleep(30_000, ctx.signal);
      },
    });
  });

  it('runs cleanups and removes temp dirs on failure, keeping the error code and hint', async () => {
    let tmp = '';
    const cleaned: string[] = [];
    const p = Pipeline.start<void>()
      .then({
        id: 'a',
        title: 'A',
        run: async (_i, ctx) => {
          tmp = await ctx.tempDir();
          ctx.onCleanup(() => cleaned.push('a'));
        },
      })
      .then({
        id: 'b',
        title: 'B',
        run: async () => {
          throw new NexusError('DISK_FULL', 'No space left.', 'Free some space.');
        },
      })
      .run(undefined);
    await expect(p).rejects.toMatchObject({ code: 'DISK_FULL', hint: 'Free some space.' });
    expect(cleaned).toEqual(['a']);
    expect(await exists(tmp)).toBe(false);
  });

  it('wraps foreign errors with their system code', async () => {
    const p = Pipeline.start<void>()
      .then({
        id: 'x',
        title: 'X',
        run: async () => {
          throw Object.assign(new Error('nope'), { code: 'ENOSPC' });
        },
      })
      .run(undefined);
    await expect(p).rejects.toMatchObject({ code: 'ENOSPC', message: 'nope' });
  });

  it('throttles progress events, computes rate and ETA from a moving window', async () => {
    let t = 0;
    const events: ProgressEvent[] = [];
    await Pipeline.start<void>()
      .then({
        id: 'copy',
        title: 'Copy',
        run: async (_i, ctx) => {
          for (let i = 1; i <= 100; i++) {
            t += 10; // 10 ms per MiB → 100 MiB/s
            ctx.progress({ bytesDone: i * 1048576, bytesTotal: 200 * 1048576 });
          }
        },
      })
      .run(undefined, {
        now: () => t,
        throttleMs: 200,
        onEvent: (e) => {
          if (e.type === 'progress' && e.status === 'running') events.push(e);
        },
      });
    // 1 s of simulated work at ≤ 1 event / 200 ms, plus the initial "running" event
    expect(events.length).toBeGreaterThan(2);
    expect(events.length).toBeLessThanOrEqual(7);
    const last = events.at(-1)!;
    expect(last.rate! / 1048576).toBeCloseTo(100, 0);
    expect(last.etaSeconds!).toBeGreaterThan(0.9);
    expect(last.etaSeconds!).toBeLessThan(1.3);
    expect(last.fraction!).toBeGreaterThan(0.4);
  });

  it('refuses to start when already cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    let ran = false;
    await expect(
      Pipeline.start<void>()
        .then({
          id: 'x',
          title: 'X',
          run: async () => {
            ran = true;
          },
        })
        .run(undefined, { signal: ac.signal }),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(ran).toBe(false);
  });
});
