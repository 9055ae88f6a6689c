/** Stage "boot-test" (optional): boot the image in QEMU, wait for the boot marker and run the console session. */
import { stat } from 'node:fs/promises';
import type { BuildOptions, BuildOutputFile } from '../../build-types';
import type { OutputSet } from '../../outputs';
import type { Stage } from '../../runner';
import { bootTest } from '../../vm/boot-test';
import type { ImageWritten } from './image-parts';

export function bootTestStage(session: BuildOptions['bootTestSession'], outputs: OutputSet): Stage<ImageWritten, ImageWritten> {
  return {
    id: 'boot-test',
    title: 'Boot test in QEMU',
    async run(input, ctx) {
      const log = input.plan.outputs.consoleLog;
      const logPath = await outputs.open(log);
      const r = await bootTest(input.result.source, {
        arch: input.plan.arch,
        signal: ctx.signal,
        logPath,
        onLine: (l) => ctx.log('debug', l),
        ...(session ? { session } : {}),
      });
      const outcome = {
        passed: r.passed,
        seconds: r.seconds,
        log,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.commands ? { commands: r.commands } : {}),
      };
      for (const c of r.commands ?? []) ctx.log('info', `console: ${c.command} → exit ${c.status}`);
      ctx.log(r.passed ? 'info' : 'error', r.passed ? `boot marker after ${r.seconds.toFixed(1)} s: ${r.markerLine}` : `boot test failed: ${r.reason}`);
      const consoleLog: BuildOutputFile = { kind: 'console-log', path: log, size: (await stat(logPath)).size };
      return { ...input, bootTest: outcome, extraFiles: [...input.extraFiles, consoleLog] };
    },
  };
}
