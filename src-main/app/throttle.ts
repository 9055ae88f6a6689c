/**
 * Keeps the UI at about 10 updates per second per job: an event passes at once when its "phase key"
 * changed (new stage, new status) or the interval has passed; otherwise only the latest one is kept and
 * sent when the interval ends, so the final state is never lost.
 */
export interface Throttle<T> {
  push(key: string, phaseKey: string, value: T): void;
  /** Sends what is held back (job ended) and forgets the key. */
  flush(key: string): void;
  close(): void;
}

export function createThrottle<T>(send: (value: T) => void, intervalMs = 100, now: () => number = Date.now): Throttle<T> {
  const state = new Map<string, { last: number; phase: string; pending?: T; timer?: ReturnType<typeof setTimeout> }>();
  const fire = (key: string) => {
    const s = state.get(key);
    if (!s || s.pending === undefined) return;
    const v = s.pending;
    s.pending = undefined;
    s.timer = undefined;
    s.last = now();
    send(v);
  };
  return {
    push(key, phaseKey, value) {
      const s = state.get(key);
      const t = now();
      if (!s || s.phase !== phaseKey || t - s.last >= intervalMs) {
        if (s?.timer) clearTimeout(s.timer);
        if (s && s.phase !== phaseKey && s.pending !== undefined) send(s.pending);
        state.set(key, { last: t, phase: phaseKey });
        send(value);
        return;
      }
      s.pending = value;
      s.timer ??= setTimeout(() => fire(key), intervalMs - (t - s.last));
    },
    flush(key) {
      const s = state.get(key);
      if (s?.timer) clearTimeout(s.timer);
      fire(key);
      state.delete(key);
    },
    close() {
      for (const s of state.values()) if (s.timer) clearTimeout(s.timer);
      state.clear();
    },
  };
}
