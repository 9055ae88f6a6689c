import { describe, expect, it } from 'vitest';
import { API_KEYS, COMMAND_NAMES, EVENT_NAMES, Settings, commands, events, progressEvents, type Handlers } from '../../../src-shared/contract';
import { JobRegistry } from '../../../src-main/app/dispatcher';
import { createHandlers } from '../../../src-main/app/handlers';
import type { AppPorts } from '../../../src-main/app/ports';

describe('contract', () => {
  it('has the surface the UI relies on (a change here must be deliberate)', () => {
    expect(COMMAND_NAMES).toEqual([
      'system.info',
      'catalog.get',
      'plan.resolve',
      'password.hash',
      'job.cancel',
      'build.start',
      'vm.try',
      'vm.input',
      'image.pick',
      'image.inspect',
      'image.measure',
      'image.fetch',
      'drives.list',
      'flash.start',
      'flash.running',
      'backup.start',
      'answers.serve',
      'history.list',
      'history.remove',
      'settings.get',
      'settings.save',
      'kit.plan',
      'kit.prepare',
      'kit.import',
      'kit.status',
      'kit.attach',
    ]);
    expect(EVENT_NAMES).toEqual([
      'build.progress',
      'build.log',
      'flash.progress',
      'flash.stage',
      'flash.log',
      'flash.finished',
      'vm.console',
      'image.progress',
      'backup.progress',
      'drives.changed',
      'answers.ready',
      'answers.request',
      'kit.progress',
    ]);
    expect(API_KEYS).toHaveLength(COMMAND_NAMES.length + EVENT_NAMES.length);
  });

  it('names commands domain.verb; exactly the long commands are jobs, each naming its progress and streams, one job.cancel for all', () => {
    for (const name of COMMAND_NAMES) expect(name).toMatch(/^[a-z]+\.[a-z]+$/);
    const jobs = COMMAND_NAMES.filter((n) => commands[n].job);
    expect(jobs).toEqual([
      'build.start',
      'vm.try',
      'image.measure',
      'image.fetch',
      'flash.start',
      'backup.start',
      'answers.serve',
      'kit.prepare',
      'kit.import',
    ]);
    for (const n of jobs) expect(commands[n].request.safeParse({}).success).toBe(false); // jobId is required
    for (const n of jobs) expect(commands[n].job?.cancellable, n).toBe(true);
    expect(COMMAND_NAMES.filter((n) => /\.(cancel|stop)$/.test(n))).toEqual(['job.cancel']);
    // Every event of a job carries its jobId; each stream belongs to a job or is a global one (drives).
    const owned = jobs.flatMap((n) => [commands[n].job?.progress, ...(commands[n].job?.streams ?? [])]).filter((e) => e);
    expect(new Set([...owned, 'drives.changed'])).toEqual(new Set(EVENT_NAMES));
    for (const e of owned) expect(Object.keys(events[e!].shape)).toContain('jobId');
    expect(Object.keys(progressEvents).sort()).toEqual([...new Set(jobs.map((n) => commands[n].job?.progress).filter((e) => e))].sort());
    expect(jobs.filter((n) => commands[n].job?.desktop)).toEqual(['build.start', 'flash.start']);
    expect(jobs.filter((n) => commands[n].job?.confirmClose)).toEqual(['flash.start']);
  });

  it('every event payload and request is a zod schema that rejects garbage', () => {
    for (const name of EVENT_NAMES) expect(events[name].safeParse({ nonsense: true }).success).toBe(false);
    for (const name of COMMAND_NAMES) expect(commands[name].request.safeParse('a string').success).toBe(false);
  });

  it('flash.start cannot ask for system drives: the request has no such field (strict schema)', () => {
    const base = { jobId: 'abcdef12', source: { kind: 'file', path: '/x.img' }, targets: ['/dev/sdb'] };
    expect(commands['flash.start'].request.safeParse(base).success).toBe(true);
    expect(commands['flash.start'].request.safeParse({ ...base, includeSystem: true }).success).toBe(false);
    expect(commands['flash.start'].request.safeParse({ ...base, targets: [] }).success).toBe(false);
  });

  it('settings have no place for secrets', () => {
    expect(Settings.safeParse({ customization: { userName: 'alice' } }).success).toBe(true);
    expect(Settings.safeParse({ customization: { password: 'x' } }).success).toBe(false);
    expect(Settings.safeParse({ customization: { wifiPassphrase: 'secret123' } }).success).toBe(false);
    expect(Settings.safeParse({ customization: { passwordHash: '$6$x$y' } }).success).toBe(false);
  });

  it('the app implements one handler per command (the mapped type makes a missing one a compile error)', () => {
    const handlers: Handlers = createHandlers(
      {} as AppPorts,
      { version: 't', transport: 'memory', configDir: '/nonexistent', outputDir: '/nonexistent' },
      new JobRegistry(),
    );
    expect(Object.keys(handlers).sort()).toEqual([...COMMAND_NAMES].sort());
    // @ts-expect-error a handler map without 'drives.list' does not type-check
    const missing: Handlers = { ...handlers, 'drives.list': undefined };
    expect(missing['drives.list']).toBeUndefined();
  });
});
