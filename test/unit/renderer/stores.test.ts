// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from 'vitest';
import { setApi } from '../../../src-renderer/stores/api';
import { useBuildStore } from '../../../src-renderer/stores/build-store';
import { useCatalogStore } from '../../../src-renderer/stores/catalog-store';
import { selectIsValid, useCustomizeStore } from '../../../src-renderer/stores/customize-store';
import { EMPTY_FIELDS, toCustomization, validateFields } from '../../../src-renderer/stores/customize-validation';
import { useDrivesStore } from '../../../src-renderer/stores/drives-store';
import { useFlashStore } from '../../../src-renderer/stores/flash-store';
import { useSelectionStore } from '../../../src-renderer/stores/selection-store';
import { connectStores } from '../../../src-renderer/stores/sync';
import { stepsFor, useWizardStore } from '../../../src-renderer/stores/wizard-store';
import { CATALOG, drive, fakeApi } from '../../support/renderer/fake-api';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG3ba5/fDhWM1mQMnmKJL5u7c2H1RSUvHb3IbbGJp0fJ you@host';

beforeEach(() => {
  useCatalogStore.setState({ catalog: CATALOG, system: { version: '1', platform: 'linux', transport: 'websocket', qemu: ['x86_64'] }, error: null });
  useSelectionStore.setState({ mode: 'build', box: null, arch: null, board: null, device: null });
});

describe('customize validation (same zod schemas as the CLI)', () => {
  it('accepts the defaults and reports each bad field with a helpful message', () => {
    expect(validateFields(EMPTY_FIELDS)).toEqual({});
    const e = validateFields({
      ...EMPTY_FIELDS,
      hostname: '-bad',
      userName: 'Root',
      password: 'a',
      passwordConfirm: 'b',
      sshKeys: 'ssh-rsa nope',
      wifiSsid: 'home',
      wifiCountry: 'XX',
      timezone: 'Mars/Olympus',
    });
    expect(Object.keys(e).sort()).toEqual(['hostname', 'passwordConfirm', 'sshKeys', 'timezone', 'userName', 'wifiCountry']);
    expect(e.passwordConfirm).toBe('the two passwords differ');
  });

  it('checks every SSH key line and names the bad one', () => {
    expect(validateFields({ ...EMPTY_FIELDS, sshKeys: KEY }).sshKeys).toBeUndefined();
    expect(validateFields({ ...EMPTY_FIELDS, sshKeys: `${KEY}\n-----BEGIN OPENSSH PRIVATE KEY-----` }).sshKeys).toMatch(/^line 2: /);
  });

  it('builds the customization with the hash only, never the password', () => {
    const c = toCustomization({ ...EMPTY_FIELDS, userName: 'alice', password: 'pw', passwordConfirm: 'pw', sshKeys: KEY }, `$6$salt$${'a'.repeat(86)}`);
    expect(JSON.stringify(c)).not.toContain('"pw"');
    expect(c.user).toEqual({ name: 'alice', admin: true, passwordHash: `$6$salt$${'a'.repeat(86)}` });
    expect(c.sshKeys).toEqual([KEY]);
  });
});

describe('selection offers only valid combinations', () => {
  it('picks an architecture the Box supports and the QEMU board of that architecture', () => {
    const s = useSelectionStore.getState();
    s.chooseBox('dragonbox');
    expect(useSelectionStore.getState()).toMatchObject({ box: 'dragonbox', arch: 'x86_64', board: 'qemu-x86_64' });
    useSelectionStore.getState().chooseArch('riscv64');
    expect(useSelectionStore.getState().arch).toBe('x86_64');
    useSelectionStore.getState().chooseBox('tinybox');
    useSelectionStore.getState().chooseArch('riscv64');
    expect(useSelectionStore.getState().board).toBe('qemu-riscv64');
    // The architecture follows the board; a new architecture keeps the kind of board (hardware stays hardware).
    useSelectionStore.getState().chooseBoard('rpi5');
    expect(useSelectionStore.getState()).toMatchObject({ board: 'rpi5', arch: 'arm64' });
    useSelectionStore.getState().chooseArch('riscv64');
    expect(useSelectionStore.getState()).toMatchObject({ board: 'visionfive2', arch: 'riscv64' });
    useSelectionStore.getState().chooseBox('dragonbox');
    useSelectionStore.getState().chooseBoard('rpi5');
    expect(useSelectionStore.getState()).toMatchObject({ box: 'dragonbox', arch: 'x86_64' });
  });

  it('device first: the device filters the Boxes, a Box chosen first filters the devices', () => {
    useSelectionStore.setState({ box: null, device: null });
    useSelectionStore.getState().chooseDevice('rpi5');
    expect(useSelectionStore.getState()).toMatchObject({ device: 'rpi5', board: 'rpi5', arch: 'arm64' });
    useSelectionStore.getState().chooseBox('dragonbox');
    expect(useSelectionStore.getState().box).toBeNull();
    useSelectionStore.getState().chooseBox('tinybox');
    expect(useSelectionStore.getState()).toMatchObject({ box: 'tinybox', board: 'rpi5', arch: 'arm64' });
    useSelectionStore.getState().chooseDevice('rpi5');
    expect(useSelectionStore.getState().device).toBeNull();
    useSelectionStore.getState().chooseBox('dragonbox');
    useSelectionStore.getState().chooseDevice('rpi5');
    expect(useSelectionStore.getState()).toMatchObject({ box: 'dragonbox', device: null, arch: 'x86_64' });
  });

  it('writing an existing image skips board, customize and build', () => {
    expect(stepsFor('image')).toEqual(['box', 'drive', 'write']);
    useWizardStore.setState({ step: 'box' });
    useWizardStore.getState().next('image');
    expect(useWizardStore.getState().step).toBe('drive');
    useWizardStore.getState().back('build');
    expect(useWizardStore.getState().step).toBe('build');
  });
});

describe('job stores', () => {
  it('build: stages keep their first order, events of other jobs are ignored, errors keep their hint', async () => {
    const f = fakeApi({ 'build.start': () => Promise.reject({ code: 'INDEX_UNAVAILABLE', message: 'no index', hint: 'check the mirror' }) });
    setApi(f.api);
    const done = useBuildStore.getState().start({ profile: 'tinybox' }, 'k');
    const jobId = useBuildStore.getState().jobId!;
    const ev = (stage: string, status: 'running' | 'done') => ({
      jobId,
      event: { type: 'progress' as const, stage, status, fraction: 0.5, bytesDone: null, bytesTotal: null, rate: null, etaSeconds: null, message: '' },
    });
    useBuildStore.getState().onProgress(ev('fetch', 'running'));
    useBuildStore.getState().onProgress(ev('unpack', 'running'));
    useBuildStore.getState().onProgress(ev('fetch', 'done'));
    useBuildStore.getState().onProgress({ ...ev('other', 'running'), jobId: 'someone-else' });
    expect(useBuildStore.getState().stages.map((s) => `${s.stage}:${s.status}`)).toEqual(['fetch:done', 'unpack:running']);
    await done;
    expect(useBuildStore.getState()).toMatchObject({ status: 'failed', error: { code: 'INDEX_UNAVAILABLE', hint: 'check the mirror' } });
  });

  it('flash: a cancelled result is shown as cancelled', async () => {
    const f = fakeApi({
      'flash.start': () => ({ type: 'flash.result', ok: false, cancelled: true, imageSize: 1, durationMs: 1, targets: [] }),
      'job.cancel': () => ({ ok: true }),
    });
    setApi(f.api);
    await useFlashStore.getState().start({ kind: 'file', path: '/a.img' }, null, ['/dev/sdz'], { verify: true, eject: false });
    expect(useFlashStore.getState().status).toBe('cancelled');
  });

  it("flash: its stages and log lines arrive through connectStores like a build's; another job's are ignored; job.cancel stops it", async () => {
    let finish: (v: unknown) => void = () => {};
    const f = fakeApi({ 'flash.start': () => new Promise((r) => (finish = r)), 'job.cancel': () => ({ ok: true }), 'flash.running': () => [] });
    const stop = await connectStores(f.api);
    const started = useFlashStore.getState().start({ kind: 'file', path: '/a.img' }, null, ['/dev/sdz'], { verify: true, eject: false });
    const jobId = useFlashStore.getState().jobId ?? '';
    const stage = (id: string, status: 'running' | 'done', job = jobId) => ({
      jobId: job,
      event: { type: 'progress' as const, stage: id, status, fraction: null, bytesDone: 1, bytesTotal: 2, rate: null, etaSeconds: null, message: '' },
    });
    f.emit('flash.stage', stage('flash-write', 'running'));
    f.emit('flash.stage', stage('flash-verify', 'running', 'another-job'));
    f.emit('flash.stage', stage('flash-write', 'done'));
    f.emit('flash.log', { jobId, event: { type: 'log', stage: 'flash-write', level: 'warn', message: '/dev/sdz is larger than 64 GiB', time: 1 } });
    expect(useFlashStore.getState().stages.map((s) => `${s.stage}:${s.status}`)).toEqual(['flash-write:done']);
    expect(useFlashStore.getState().log.map((l) => l.message)).toEqual(['/dev/sdz is larger than 64 GiB']);
    await useFlashStore.getState().cancel();
    expect(f.calls.filter((c) => c.name === 'job.cancel').map((c) => c.request)).toEqual([{ jobId }]);
    finish({ type: 'flash.result', ok: false, cancelled: true, imageSize: 1, durationMs: 1, targets: [] });
    await started;
    expect(useFlashStore.getState().status).toBe('cancelled');
    stop();
  });

  it('drives: the live list replaces the old one and a removed drive stops being a target', () => {
    useDrivesStore.setState({ drives: [drive('/dev/sdb', 1e9), drive('/dev/sdc', 1e9)], selected: ['/dev/sdb', '/dev/sdc'] });
    useDrivesStore.getState().setDrives([drive('/dev/sdc', 1e9)]);
    expect(useDrivesStore.getState().selected).toEqual(['/dev/sdc']);
  });

  it('sync: routes events to the stores and restores remembered choices', async () => {
    const f = fakeApi({
      'catalog.get': () => CATALOG,
      'system.info': () => ({ version: '1', platform: 'linux', transport: 'websocket', qemu: [] }),
      'settings.get': () => ({ box: 'cryptobox', arch: 'arm64', board: 'rpi5', customization: { hostname: 'kept' }, verifyAfterWrite: true }),
    });
    const stop = await connectStores(f.api);
    expect(useSelectionStore.getState()).toMatchObject({ box: 'cryptobox', arch: 'arm64', board: 'rpi5' });
    expect(f.listeners('build.progress')).toBe(1);
    stop();
    expect(f.listeners('build.progress')).toBe(0);
  });
});

describe('customize store: secrets after a reload, add-ons the fields need, obvious fixes', () => {
  const settings = (c: object, fragments?: string[]) => ({ customization: c, verifyAfterWrite: true, ...(fragments ? { fragments } : {}) });

  beforeEach(() => {
    useCustomizeStore.setState({
      fields: { ...EMPTY_FIELDS },
      errors: {},
      notes: {},
      fragments: null,
      autoFragments: [],
      declined: [],
      reenter: { password: false, wifiPassphrase: false },
      branch: null,
    });
  });

  it('remembers only that a password / passphrase was set, and asks for them again after a reload', async () => {
    const s = useCustomizeStore.getState();
    s.setField('userName', 'alice');
    s.setField('password', 'pw-secret');
    s.setField('passwordConfirm', 'pw-secret');
    s.setField('wifiSsid', 'homenet');
    s.setField('wifiPassphrase', 'passphrase-1');
    s.setField('wifiCountry', 'GB');
    const remembered = useCustomizeStore.getState().remembered();
    expect(remembered).toMatchObject({ userName: 'alice', passwordSet: true, wifiSsid: 'homenet', wifiPassphraseSet: true });
    expect(JSON.stringify(remembered)).not.toMatch(/pw-secret|passphrase-1/);

    useCustomizeStore.setState({ fields: { ...EMPTY_FIELDS } });
    useCustomizeStore.getState().restore(settings(remembered));
    const after = useCustomizeStore.getState();
    expect(after.errors.password).toMatch(/enter the password again/);
    expect(after.errors.wifiPassphrase).toMatch(/enter the Wi-Fi passphrase again/);
    expect(selectIsValid(after)).toBe(false);
    // The last guard: no build request without them.
    await expect(after.prepare()).rejects.toMatchObject({ info: { code: 'SECRET_NEEDED' } });
    // Still remembered as set until given up explicitly.
    expect(after.remembered()).toMatchObject({ passwordSet: true, wifiPassphraseSet: true });
    after.giveUpSecret('password');
    after.giveUpSecret('wifiPassphrase');
    expect(selectIsValid(useCustomizeStore.getState())).toBe(true);
    expect(useCustomizeStore.getState().remembered()).not.toHaveProperty('passwordSet');
  });

  it('turns on ssh for a key and wifi for a network, with a note; one turned off stays off, after a reload too', () => {
    const s = useCustomizeStore.getState();
    s.setField('sshKeys', KEY);
    s.setField('wifiSsid', 'homenet');
    useCustomizeStore.getState().enableNeededFragments(['base'], ['base', 'ssh', 'wifi']);
    expect(useCustomizeStore.getState().fragments).toEqual(['base', 'ssh', 'wifi']);
    expect(useCustomizeStore.getState().notes.sshKeys).toMatch(/"ssh" add-on was turned on/);
    useCustomizeStore.getState().toggleFragment('wifi', ['base']);
    useCustomizeStore.getState().setField('wifiSsid', 'homenet2');
    useCustomizeStore.getState().enableNeededFragments(['base'], ['base', 'ssh', 'wifi']);
    expect(useCustomizeStore.getState().fragments).toEqual(['base', 'ssh']);
    // A reload with the remembered add-ons (no wifi) and a remembered network: wifi stays off.
    useCustomizeStore.setState({ declined: [], fragments: null });
    useCustomizeStore.getState().restore(settings({ wifiSsid: 'homenet2', wifiCountry: 'GB' }, ['base', 'ssh']));
    useCustomizeStore.getState().enableNeededFragments(['base'], ['base', 'ssh', 'wifi']);
    expect(useCustomizeStore.getState().fragments).toEqual(['base', 'ssh']);
  });

  it('fixes a user name and a country when the field is left, and says so', () => {
    const s = useCustomizeStore.getState();
    s.setField('userName', 'Alice');
    expect(useCustomizeStore.getState().errors.userName).toBeDefined();
    useCustomizeStore.getState().fixField('userName');
    expect(useCustomizeStore.getState().fields.userName).toBe('alice');
    expect(useCustomizeStore.getState().errors.userName).toBeUndefined();
    expect(useCustomizeStore.getState().notes.userName).toMatch(/"Alice" becomes "alice"/);
    // A remembered (or CLI-style) "uk" is fixed on restore.
    useCustomizeStore.getState().restore(settings({ wifiSsid: 'homenet', wifiCountry: 'uk' }));
    expect(useCustomizeStore.getState().fields.wifiCountry).toBe('GB');
  });
});
