/**
 * Errors that cross every boundary (engine → CLI, IPC, WebSocket) as plain data:
 * a stable machine-readable code, a message saying what happened, and a hint saying what to do.
 */
export interface ErrorInfo {
  code: string;
  message: string;
  hint?: string;
}

export class NexusError extends Error {
  readonly code: string;
  readonly hint?: string;

  constructor(code: string, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NexusError';
    this.code = code;
    if (hint !== undefined) this.hint = hint;
  }

  toInfo(): ErrorInfo {
    return this.hint === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Raised when an AbortSignal fires; the runner reports the stage as cancelled rather than failed. */
export class CancelledError extends NexusError {
  constructor(message = 'Cancelled by the user.') {
    super('CANCELLED', message);
    this.name = 'CancelledError';
  }
}

export function isCancelled(err: unknown): boolean {
  if (err instanceof CancelledError) return true;
  if (err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR')) return true;
  return false;
}

/** Normalizes anything thrown into {code, message, hint}; unknown errors keep their message, never a stack. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof NexusError) return err.toInfo();
  if (isCancelled(err)) return { code: 'CANCELLED', message: 'Cancelled by the user.' };
  if (err instanceof Error) {
    const sys = (err as { code?: unknown }).code;
    return { code: typeof sys === 'string' ? sys : 'INTERNAL', message: err.message };
  }
  return { code: 'INTERNAL', message: String(err) };
}
