// WebAssembly.Memory for the main process (flash/aligned.ts takes page-aligned memory from it): TypeScript
// declares WebAssembly only in the DOM library, which the main-process layers do not load (tsconfig.main.json).
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }
}
