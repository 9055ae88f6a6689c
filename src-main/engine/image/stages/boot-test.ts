/** Stage "boot-test" (optional): boot the image in QEMU, wait for the boot marker and run the console session. */
import { stat } from 'node:fs/promises';
import type { BuildOptions } from '../../build-types';
import type { OutputSet } from '../../outputs';
import type { Stage } from '../../runner';
import { bootTest } from '../../vm/boot-test';
import type { Packed } from './compress-image';

export function bootTestStage(session: BuildOptions['bootTestSession'], outputs: OutputSet): Stage<Packed, Packed> {
  return {
    id: 'boot-test',
    title: 'Boot test in QEMU',
    async run(state, ctx) {
      const log = state.plan.outputs.consoleLog;
      const logPath = await outputs.open(log);
      const r0 = await bootTest(state.result!.source, {
        arch: state.plan.arch,
        signal: ctx.signal,
        logPath,
        onLine: (l) => ctx.log('debug', l),
        ...(session ? { session } : {}),
      });
      const r = { ...r0, log };
      state.bootTest = {
        passed: r.passed,
        seconds: r.seconds,
        log: r.log,
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.commands ? { commands: r.commands } : {}),
      };
      for (const c of r.commands ?? []) ctx.log('info', `console: ${c.command} → exit ${c.status}`);
      ctx.log(r.passed ? 'info' : 'error', r.passed ? `boot marker after ${r.seconds.toFixed(1)} s: ${r.markerLine}` : `boot test failed: ${r.reason}`);
      state.extraFiles ??= [];
      state.extraFiles.push({ kind: 'console-log', path: r.log, size: (await stat(logPath)).size });
      return state;
    },
  };
}
