import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppToHelper, FlashRequest, HelperToApp } from '../../../src-shared/flash';
import { chooseElevation, classifyElevationFailure, elevatedCommand, helperProgram } from '../../../src-main/privileged/elevate';
import { newToken, tokensEqual } from '../../../src-main/privileged/protocol';

const token = 'a'.repeat(64);
const request = { source: { kind: 'file', path: '/tmp/x.img' }, targets: ['/dev/sdb'] };

describe('helper protocol schemas', () => {
  it('accepts well-formed messages and fills request defaults', () => {
    const m = AppToHelper.parse({ type: 'flash', token, request });
    expect(m.type === 'flash' && m.request).toMatchObject({ verify: true, eject: false, includeSystem: false, bmap: null });
  });
  it.each([
    ['no token', { type: 'ping' }],
    ['short token', { type: 'ping', token: 'abc' }],
    ['unknown type', { type: 'rm-rf', token }],
    ['no targets', { type: 'flash', token, request: { ...request, targets: [] } }],
    ['file:// URL', { type: 'flash', token, request: { source: { kind: 'url', url: 'file:///etc/shadow', sha256: 'a'.repeat(64) }, targets: ['/dev/sdb'] } }],
    ['URL without sha256', { type: 'flash', token, request: { source: { kind: 'url', url: 'https://x/y.img' }, targets: ['/dev/sdb'] } }],
  ])('rejects %s', (_n, msg) => {
    expect(AppToHelper.safeParse(msg).success).toBe(false);
  });
  it('helper → app messages round-trip', () => {
    expect(HelperToApp.parse({ type: 'ready', protocol: 1, pid: 1, uid: 0 }).type).toBe('ready');
    expect(FlashRequest.parse(request).verify).toBe(true);
  });
  it('tokens are 256-bit hex and compared in constant time', () => {
    const t = newToken();
    expect(t).toMatch(/^[0-9a-f]{64}$/);
    expect(newToken()).not.toBe(t);
    expect(tokensEqual(t, t)).toBe(true);
    expect(tokensEqual(t, t.slice(0, 63))).toBe(false);
    expect(tokensEqual(t, `${t.slice(0, 63)}${t[63] === 'a' ? 'b' : 'a'}`)).toBe(false);
  });
});

describe('elevation', () => {
  it('in the packaged app runs the helper wrapper from resources/polkit outside app.asar', () => {
    const resources = mkdtempSync(join(tmpdir(), 'nexus-res-'));
    const wrapper = join(resources, 'polkit', 'nexus-flash-helper');
    mkdirSync(join(resources, 'polkit'));
    writeFileSync(wrapper, '#!/bin/sh\n');
    const proc = process as { resourcesPath?: string };
    const hadElectron = Object.getOwnPropertyDescriptor(process.versions, 'electron');
    try {
      expect(helperProgram()[0]).toBe(process.execPath); // development: Node on the helper source
      Object.defineProperty(process.versions, 'electron', { value: '39.0.0', configurable: true });
      proc.resourcesPath = resources;
      expect(helperProgram()).toEqual([wrapper]);
    } finally {
      if (hadElectron) Object.defineProperty(process.versions, 'electron', hadElectron);
      else delete (process.versions as Record<string, string>).electron;
      delete proc.resourcesPath;
      rmSync(resources, { recursive: true, force: true });
    }
  });
  it('chooses per platform, plain child when root', () => {
    expect(chooseElevation('linux', 0)).toBe('none');
    expect(chooseElevation('linux', 1000)).toBe('pkexec');
    expect(chooseElevation('darwin', 501)).toBe('osascript');
    expect(chooseElevation('darwin', 0)).toBe('none');
    expect(chooseElevation('win32', -1)).toBe('uac');
  });

  it('builds the command lines without a shell on Linux and with careful quoting elsewhere', () => {
    const prog = ['/opt/Nexus Imager/helper', "--x='y'"];
    expect(elevatedCommand('pkexec', prog, ['--token-file', '/tmp/t'])).toEqual({
      command: 'pkexec',
      args: ['/opt/Nexus Imager/helper', "--x='y'", '--token-file', '/tmp/t'],
    });
    expect(elevatedCommand('none', prog, [])).toEqual({ command: '/opt/Nexus Imager/helper', args: ["--x='y'"] });
    const mac = elevatedCommand('osascript', prog, ['--socket', '/tmp/a b/s']);
    expect(mac.command).toBe('osascript');
    expect(mac.args[1]).toContain(`'/opt/Nexus Imager/helper' '--x='\\\\''y'\\\\''' '--socket' '/tmp/a b/s'`);
    expect(mac.args[1]).toMatch(/with administrator privileges$/);
    const win = elevatedCommand('uac', ['C:\\Program Files\\Nexus\\helper.exe'], ['--socket', '\\\\.\\pipe\\nexus-1']);
    expect(win.args.at(-1)).toMatch(/^Start-Process -FilePath 'C:\\Program Files\\Nexus\\helper.exe' .* -Verb RunAs/);
  });

  it.each([
    ['pkexec', 127, 'Error executing command as another user: No authentication agent found.', 'NO_POLKIT_AGENT'],
    ['pkexec', 127, 'Error getting authority: Error initializing authority: Could not connect: No such file or directory', 'POLKIT_UNAVAILABLE'],
    ['pkexec', 126, 'Error executing command as another user: Not authorized\n\nThis incident has been reported.', 'PROMPT_DISMISSED'],
    ['pkexec', 126, '', 'PROMPT_DISMISSED'],
    ['osascript', 1, '0:125: execution error: User canceled. (-128)', 'PROMPT_DISMISSED'],
    ['uac', 1, 'Start-Process : This command cannot be run due to the error: The operation was canceled by the user.', 'PROMPT_DISMISSED'],
    ['none', 1, "Error: EACCES: permission denied, open '/dev/sdb'", 'PERMISSION_DENIED'],
    ['none', 139, 'Segmentation fault', 'HELPER_FAILED'],
  ] as const)('%s exit %s → %s', (elevation, code, stderr, expected) => {
    const e = classifyElevationFailure(elevation, code, stderr);
    expect(e.code).toBe(expected);
    expect(e.hint).toBeTruthy();
  });
});
