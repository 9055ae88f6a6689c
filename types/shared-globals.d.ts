// The few globals src-shared may use: they exist alike in browsers and in Node (WHATWG APIs), so shared code
// type-checks without either side's full library (tsconfig.shared.json only; the other layers get them from
// the DOM or Node types).
declare function atob(data: string): string;
declare function btoa(data: string): string;
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
}
