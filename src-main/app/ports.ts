/**
 * What the app needs from the engine, as functions. The default ports are the real engine; tests may
 * replace single ports (never in production). Engine modules are loaded lazily so `nexus serve` starts fast.
 */
import type { Arch } from '../../src-shared/arch';
import type { Catalog } from '../../src-shared/catalog';
import type { Drive } from '../../src-shared/drives';
import type { FlashProgress, FlashRequestInput, FlashResult } from '../../src-shared/flash';
import type { BuildPlan } from '../../src-shared/plan';
import type { BuildOptions, BuildResult } from '../engine/build-types';

export interface FlashPortOptions {
  signal: AbortSignal;
  onProgress: (progress: FlashProgress) => void;
}

export interface AppPorts {
  loadCatalog(): Promise<Catalog>;
  resourcesDir(): string;
  build(plan: BuildPlan, options: BuildOptions): Promise<BuildResult>;
  bootTest(image: string, plan: BuildPlan, signal: AbortSignal): Promise<{ passed: boolean; seconds: number; log: string }>;
  listDrives(): Promise<Drive[]>;
  watchDrives(signal: AbortSignal): AsyncIterable<Drive[]>;
  flash(request: FlashRequestInput, options: FlashPortOptions): Promise<FlashResult>;
  qemuArches(): Promise<Arch[]>;
  /** A native "open file" dialog (Electron only); null when the user dismissed it. */
  pickImage(): Promise<string | null>;
}
