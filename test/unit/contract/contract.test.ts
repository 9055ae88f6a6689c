import { describe, expect, it } from 'vitest';
import { API_KEYS, CANCEL_COMMAND, COMMAND_NAMES, EVENT_NAMES, Settings, commands, events, type Handlers } from '../../../src-shared/contract';
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
      'build.start',
      'build.cancel',
      'vm.try',
      'vm.stop',
      'vm.input',
      'image.pick',
      'image.inspect',
      'image.measure',
      'image.fetch',
      'image.cancel',
      'drives.list',
      'flash.start',
      'flash.cancel',
      'flash.running',
      'backup.start',
      'backup.cancel',
      'answers.serve',
      'answers.stop',
      'history.list',
      'history.remove',
      'settings.get',
      'settings.save',
      'kit.plan',
      'kit.prepare',
      'kit.import',
      'kit.status',
      'kit.cancel',
      'kit.attach',
    ]);
    expect(EVENT_NAMES).toEqual([
      'build.progress',
      'build.log',
      'flash.progress',
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

  it('names commands domain.verb and marks exactly the long jobs cancellable, each with its cancel command', () => {
    for (const name of COMMAND_NAMES) expect(name).toMatch(/^[a-z]+\.[a-z]+$/);
    const cancellable = COMMAND_NAMES.filter((n) => commands[n].cancellable);
    expect(cancellable).toEqual([
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
    for (const n of cancellable) expect(CANCEL_COMMAND[n], n).toBeDefined();
    for (const n of cancellable) expect(commands[n].request.safeParse({}).success).toBe(false); // jobId is required
    expect(CANCEL_COMMAND['build.start']).toBe('build.cancel');
    expect(CANCEL_COMMAND['flash.start']).toBe('flash.cancel');
    expect(CANCEL_COMMAND['answers.serve']).toBe('answers.stop');
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
