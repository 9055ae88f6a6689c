// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BoxStep } from '../../../src-renderer/components/steps/BoxStep';
import { BuildStep } from '../../../src-renderer/components/steps/BuildStep';
import { CustomizeStep } from '../../../src-renderer/components/steps/CustomizeStep';
import { DriveStep } from '../../../src-renderer/components/steps/DriveStep';
import { WriteStep } from '../../../src-renderer/components/steps/WriteStep';
import { setApi } from '../../../src-renderer/stores/api';
import { useBuildStore } from '../../../src-renderer/stores/build-store';
import { useCatalogStore } from '../../../src-renderer/stores/catalog-store';
import { useCustomizeStore } from '../../../src-renderer/stores/customize-store';
import { EMPTY_FIELDS, validateFields } from '../../../src-renderer/stores/customize-validation';
import { useDrivesStore } from '../../../src-renderer/stores/drives-store';
import { useFlashStore } from '../../../src-renderer/stores/flash-store';
import { useSelectionStore } from '../../../src-renderer/stores/selection-store';
import { CATALOG, drive, fakeApi } from '../../support/renderer/fake-api';

const MiB = 1024 * 1024;
const result = (size: number) => ({
  historyId: 'h1',
  planHash: 'p',
  image: '/out/tinybox.img',
  sha256: 'a'.repeat(64),
  size,
  packageCount: 4,
  warnings: [],
  files: [
    { kind: 'image' as const, path: '/out/tinybox.img', size },
    { kind: 'bmap' as const, path: '/out/tinybox.bmap', size: 700 },
  ],
});

beforeEach(() => {
  setApi(fakeApi().api);
  useCatalogStore.setState({ catalog: CATALOG, system: { version: '1', platform: 'linux', transport: 'websocket', qemu: ['x86_64'] }, error: null });
  useSelectionStore.setState({ mode: 'build', box: 'tinybox', arch: 'x86_64', board: 'qemu-x86_64', device: null });
  useCustomizeStore.setState({ fields: { ...EMPTY_FIELDS }, errors: {}, fragments: null, branch: null });
});
afterEach(cleanup);

describe('components (roles and names as the e2e tests use them)', () => {
  it('Choose a Box: six Box buttons; selecting one marks it pressed', () => {
    useSelectionStore.setState({ box: null });
    render(<BoxStep />);
    const group = screen.getByRole('group', { name: 'Boxes' });
    expect(within(group).getAllByRole('button', { name: /^[a-z]+box: / })).toHaveLength(6);
    // Plain words first; the tier and the technical description behind Details.
    expect(within(group).queryByText('STC-2')).toBeNull();
    const details = screen.getByRole('button', { name: 'Details of cryptobox' });
    expect(details.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(details);
    expect(details.getAttribute('aria-expanded')).toBe('true');
    expect(within(group).getByText('STC-2')).toBeTruthy();
    // The devices a newcomer recognises are on the first screen.
    expect(screen.getByRole('button', { name: /^Raspberry Pi 5/ })).toBeTruthy();
    const crypto = screen.getByRole('button', { name: /^cryptobox:/ });
    expect(crypto.getAttribute('aria-pressed')).toBe('false');
    expect((screen.getByRole('button', { name: /Next: architecture/ }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(crypto);
    expect(crypto.getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByRole('region', { name: 'Write an existing image' })).toBeTruthy();
  });

  it('Customize: inline error from the shared schema, Next disabled until fixed; typed input survives a remount', () => {
    const view = render(<CustomizeStep />);
    const host = screen.getByRole('textbox', { name: 'Host name' });
    fireEvent.change(host, { target: { value: 'bad host' } });
    expect(host.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText(/letters, digits and "-" only/)).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Next: build' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(host, { target: { value: 'good-host' } });
    expect((screen.getByRole('button', { name: 'Next: build' }) as HTMLButtonElement).disabled).toBe(false);
    view.unmount();
    render(<CustomizeStep />);
    expect((screen.getByRole('textbox', { name: 'Host name' }) as HTMLInputElement).value).toBe('good-host');
    expect(validateFields(useCustomizeStore.getState().fields)).toEqual({});
  });

  it('Customize: the Alpine release defaults to the current stable one; another is remembered and sent with the build', async () => {
    const fake = fakeApi({
      'settings.save': (s) => s,
      'plan.resolve': () => {
        throw { code: 'X', message: 'not needed here' };
      },
    });
    setApi(fake.api);
    render(<CustomizeStep />);
    const release = screen.getByRole('combobox', { name: 'Alpine Linux release' });
    expect(release.textContent).toBe('v3.24 (current stable)');
    fireEvent.mouseDown(release);
    fireEvent.click(screen.getByRole('option', { name: 'v3.23' }));
    expect(useCustomizeStore.getState().branch).toBe('v3.23');
    fireEvent.click(screen.getByRole('button', { name: 'Next: build' }));
    await new Promise((r) => setTimeout(r, 0));
    expect(fake.calls.find((c) => c.name === 'settings.save')?.request).toMatchObject({ branch: 'v3.23' });
    cleanup();
    render(<BuildStep />);
    await new Promise((r) => setTimeout(r, 0));
    expect(fake.calls.find((c) => c.name === 'plan.resolve')?.request).toMatchObject({ profile: 'tinybox', branch: 'v3.23' });
    useBuildStore.setState(useBuildStore.getInitialState());
  });

  it('Build: a failure shows its message and what to try', () => {
    setApi(fakeApi({ 'plan.resolve': () => new Promise(() => undefined) }).api);
    useBuildStore.setState({
      status: 'failed',
      stages: [],
      log: [],
      error: { code: 'INDEX_UNAVAILABLE', message: 'Cannot fetch the index.', hint: 'Check the mirror.' },
    });
    render(<BuildStep />);
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Cannot fetch the index.');
    expect(alert.textContent).toContain('Check the mirror.');
    expect(screen.getByRole('button', { name: 'Build again' })).toBeTruthy();
  });

  it('Choose the drive: system drives hidden, too small and write-protected disabled with the reason, large flagged', async () => {
    useBuildStore.setState({ status: 'done', result: result(64 * MiB), builtKey: null });
    const drives = [
      drive('/dev/sda', 500e9, { system: true }),
      drive('/dev/sdb', 16 * MiB),
      drive('/dev/sdc', 8e9, { readOnly: true }),
      drive('/dev/sdd', 256 * 1024 ** 3),
      drive('/dev/sde', 8e9),
    ];
    const f = fakeApi({ 'drives.list': () => drives });
    setApi(f.api);
    useDrivesStore.setState({ drives: [], selected: [], loaded: false });
    render(<DriveStep />);
    await screen.findByText(/1 system drive is hidden/);
    const list = screen.getByRole('list', { name: 'Drives' });
    expect(within(list).queryByRole('checkbox', { name: /\/dev\/sda/ })).toBeNull();
    expect(screen.getByText(/1 system drive is hidden/)).toBeTruthy();
    const small = within(list).getByRole('checkbox', { name: /^\/dev\/sdb/ }) as HTMLInputElement;
    expect(small.disabled).toBe(true);
    expect(screen.getByText(/but the image needs 64\.0 MiB/)).toBeTruthy();
    expect((within(list).getByRole('checkbox', { name: /^\/dev\/sdc/ }) as HTMLInputElement).disabled).toBe(true);
    expect(screen.getByText(/write-protected/)).toBeTruthy();
    expect(screen.getByText(/Large drive:/)).toBeTruthy();
    fireEvent.click(within(list).getByRole('checkbox', { name: /^\/dev\/sde/ }));
    expect((screen.getByRole('button', { name: 'Write' }) as HTMLButtonElement).disabled).toBe(false);
    expect(f.listeners('drives.changed')).toBe(1);
  });

  it('Build: an impossible selection is reported before building, and Start is disabled', async () => {
    setApi(
      fakeApi({
        'plan.resolve': () =>
          Promise.reject({ code: 'ARCH_UNSUPPORTED', message: 'dragonbox is not available for riscv64.', hint: 'dragonbox supports x86_64.' }),
      }).api,
    );
    useBuildStore.setState({ status: 'idle', stages: [], log: [], error: null, plan: { value: null, error: null } });
    render(<BuildStep />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('dragonbox supports x86_64.');
    expect((screen.getByRole('button', { name: 'Start build' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("Write and verify: per-drive progress, then the board's next steps", () => {
    useSelectionStore.setState({ board: 'rpi5' });
    useFlashStore.setState({
      status: 'running',
      jobId: 'j',
      targets: ['/dev/sde'],
      result: null,
      error: null,
      progress: {
        type: 'flash.progress',
        phase: 'writing',
        sourceBytesRead: 0,
        sourceBytesTotal: null,
        elapsedMs: 1,
        targets: [{ device: '/dev/sde', phase: 'writing', bytesDone: 32 * MiB, bytesTotal: 64 * MiB, speed: 10 * MiB, avgSpeed: 10 * MiB, etaSeconds: 3 }],
      },
    });
    const view = render(<WriteStep />);
    expect(screen.getByRole('progressbar', { name: /\/dev\/sde Writing progress/ }).getAttribute('aria-valuenow')).toBe('50');
    expect(screen.getByText(/10\.0 MiB\/s · 3s left/)).toBeTruthy();
    view.unmount();
    useFlashStore.setState({ status: 'done', result: { type: 'flash.result', ok: true, cancelled: false, imageSize: 1, durationMs: 1, targets: [] } });
    render(<WriteStep />);
    const steps = screen.getByRole('list', { name: 'Next steps' });
    expect(
      within(steps)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['Insert the card', 'Power on']);
  });
});

describe('build history', () => {
  it('lists recent builds and writes one again without rebuilding', async () => {
    const { HistoryDialog } = await import('../../../src-renderer/components/HistoryDialog');
    const { useWizardStore } = await import('../../../src-renderer/stores/wizard-store');
    const entry = {
      id: 'h1',
      time: 0,
      box: 'tinybox',
      arch: 'x86_64' as const,
      board: 'rpi5',
      fragments: [],
      image: '/out/t.img',
      sha256: 'b'.repeat(64),
      size: 64 * MiB,
      manifest: '/out/t.manifest.json',
      bmap: '/out/t.bmap',
      present: true,
    };
    setApi(fakeApi({ 'history.list': () => [entry, { ...entry, id: 'h2', board: 'pc', present: false }] }).api);
    let closed = false;
    render(<HistoryDialog open onClose={() => (closed = true)} />);
    const again = await screen.findByRole('button', { name: 'Write tinybox for rpi5 again' });
    expect((screen.getByRole('button', { name: 'Write tinybox for pc again' }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(again);
    expect(closed).toBe(true);
    expect(useWizardStore.getState().step).toBe('drive');
    expect(useSelectionStore.getState()).toMatchObject({
      mode: 'image',
      board: 'rpi5',
      imageBmap: '/out/t.bmap',
      imageInfo: { path: '/out/t.img', size: 64 * MiB },
    });
  });
});
