import { describe, expect, it, vi } from 'vitest';
import { API_KEYS, type EventName } from '../../../src-shared/contract';
import { createApi, type Transport } from '../../../src-shared/create-api';
import { ClientFrame, ServerFrame } from '../../../src-shared/ws-frames';

function recordingTransport() {
  const opened: EventName[] = [];
  const closed: EventName[] = [];
  const deliver = new Map<EventName, (p: unknown) => void>();
  const transport: Transport = {
    invoke: vi.fn(async () => ({ ok: true as const, value: 42 })),
    subscribe: (name, d) => {
      opened.push(name);
      deliver.set(name, d);
      return () => {
        closed.push(name);
        deliver.delete(name);
      };
    },
  };
  return { transport, opened, closed, deliver };
}

describe('createApi', () => {
  it('has one function per contract entry and passes commands to the transport ({} for a missing request)', async () => {
    const t = recordingTransport();
    const api = createApi(t.transport);
    expect(Object.keys(api).sort()).toEqual([...API_KEYS].sort());
    expect(Object.isFrozen(api)).toBe(true);
    expect(await api['drives.list']({})).toEqual({ ok: true, value: 42 });
    await (api['history.list'] as unknown as () => Promise<unknown>)();
    expect(t.transport.invoke).toHaveBeenLastCalledWith('history.list', {});
  });

  it('opens one stream per event however many listeners, keeps it while one is left, closes it with the last', () => {
    const t = recordingTransport();
    const api = createApi(t.transport);
    const a = vi.fn();
    const b = vi.fn();
    const offA = api['drives.changed'](a);
    const offB = api['drives.changed'](b);
    expect(t.opened).toEqual(['drives.changed']);
    t.deliver.get('drives.changed')?.({ drives: [] });
    expect([a.mock.calls.length, b.mock.calls.length]).toEqual([1, 1]);
    offA();
    offA(); // twice is harmless
    expect(t.closed).toEqual([]);
    t.deliver.get('drives.changed')?.({ drives: [] });
    expect([a.mock.calls.length, b.mock.calls.length]).toEqual([1, 2]);
    offB();
    expect(t.closed).toEqual(['drives.changed']);
    api['drives.changed'](a);
    expect(t.opened).toEqual(['drives.changed', 'drives.changed']);
  });
});

describe('WebSocket frames (one schema for both ends)', () => {
  it('accepts the frames each side sends and refuses malformed ones', () => {
    expect(ClientFrame.safeParse({ kind: 'req', id: 1, name: 'job.cancel', payload: { jobId: 'abcdef' } }).success).toBe(true);
    expect(ClientFrame.safeParse({ kind: 'req', id: -1, name: 'x', payload: {} }).success).toBe(false);
    expect(ServerFrame.safeParse({ kind: 'res', id: 1, response: { ok: true, value: [1] } }).success).toBe(true);
    expect(ServerFrame.safeParse({ kind: 'res', id: 1, response: { ok: false, error: { code: 'X', message: 'y' } } }).success).toBe(true);
    expect(ServerFrame.safeParse({ kind: 'res', id: 1, response: { ok: false } }).success).toBe(false);
    expect(ServerFrame.safeParse({ kind: 'evt', payload: {} }).success).toBe(false);
  });
});
