// The VM console view: escape sequences removed even when QEMU's serial port splits them across chunks.
import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../../src-renderer/stores/api', () => ({ call: vi.fn(), errorInfo: (e: unknown) => e, newJobId: () => 'job-123456' }));
const { consoleText, useVmStore } = await import('../../../src-renderer/stores/vm-store');

describe('VM console text', () => {
  beforeEach(() => useVmStore.setState({ jobId: 'job-123456', status: 'booting', lines: [], partial: '', pendingEscape: '', marker: null }));

  it('strips colours, cursor moves, the cursor-position query and OSC titles', () => {
    expect(consoleText('\x1b[2J\x1b[01;01HBdsDxe\r\n\x1b[0;32m[  OK  ]\x1b[0m boot\r\n~ $ \x1b[6n\x1b]0;title\x07')).toBe('BdsDxe\n[  OK  ] boot\n~ $ ');
  });

  it('feeds byte by byte (as the serial port does) and still shows clean lines without doubled CRLFs', () => {
    const raw = '\x1b[2J\x1b[01;01HBdsDxe: start\r\nnexus login: ada\r\nPassword: \r\n~ $ \x1b[6n';
    for (const ch of raw) useVmStore.getState().onConsole({ jobId: 'job-123456', text: ch, marker: null });
    const s = useVmStore.getState();
    expect(s.lines).toEqual(['BdsDxe: start', 'nexus login: ada', 'Password: ']);
    expect(s.partial).toBe('~ $ ');
  });

  it('the marker event sets the highlighted line and marks the VM running; other jobs are ignored', () => {
    useVmStore.getState().onConsole({ jobId: 'job-123456', text: '', marker: 'NEXUS-BOOT-OK box=tinybox\r' });
    useVmStore.getState().onConsole({ jobId: 'other-job-1', text: 'noise\n', marker: null });
    expect(useVmStore.getState()).toMatchObject({ marker: 'NEXUS-BOOT-OK box=tinybox', status: 'running', lines: [] });
  });
});
