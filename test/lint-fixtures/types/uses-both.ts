// Fixture: WHATWG globals that exist in browsers and Node alike: fine in every layer.
export const bytes: number = new TextEncoder().encode('nexus').length;
export const decoded: string = atob('bmV4dXM=');
export const aborted = (signal: AbortSignal): boolean => signal.aborted;
