/**
 * What the app needs from the engine, as functions. The default ports are the real engine; tests may
 * replace single ports (never in production). Engine modules are loaded lazily so `nexus serve` starts fast.
 */
import type { Arch } from '../../src-shared/arch';
import type { Catalog } from '../../src-shared/catalog';
import type { Drive } from '../../src-shared/drives';
import type { FlashProgress, FlashRequestInput, FlashResult } from '../../src-shared/flash';
import type { BuildPlan } from '../../src-shared/plan';
import type { LogLevel } from '../../src-shared/progress';
import type { BackupProgress, BackupResult } from '../../src-shared/backup';
import type { BuildOptions, BuildResult } from '../engine/build-types';

export interface FlashPortOptions {
  signal: AbortSignal;
  onProgress: (progress: FlashProgress) => void;
  onLog?: (level: LogLevel, message: string) => void;
}

/** What "Try in a VM" streams: console text, the marker line, and a way to type on the console. */
export interface VmPortOptions {
  keepRunning: boolean;
  onOutput(text: string): void;
  onMarker(line: string): void;
  onStart(console: { write(text: string): void }): void;
}

export interface AppPorts {
  loadCatalog(): Promise<Catalog>;
  resourcesDir(): string;
  build(plan: BuildPlan, options: BuildOptions): Promise<BuildResult>;
  bootTest(image: string, arch: Arch, signal: AbortSignal, vm?: VmPortOptions): Promise<{ passed: boolean; seconds: number; log: string }>;
  /** Decompressed size of an image: recorded in the file (count: false) or counted by decompressing (count: true). */
  imageSize(
    path: string,
    o: { count: boolean; signal?: AbortSignal; onProgress?: (read: number, total: number) => void },
  ): Promise<{ size: number | null; exact: boolean }>;
  /** Reads a drive into OUTPUT (.img.zst) and OUTPUT's .bmap. */
  backup(device: string, output: string, o: { signal: AbortSignal; onProgress: (p: BackupProgress) => void }): Promise<BackupResult>;
  listDrives(): Promise<Drive[]>;
  watchDrives(signal: AbortSignal): AsyncIterable<Drive[]>;
  flash(request: FlashRequestInput, options: FlashPortOptions): Promise<FlashResult>;
  qemuArches(): Promise<Arch[]>;
  /** A native "open file" dialog (Electron only); null when the user dismissed it. */
  pickImage(): Promise<string | null>;
}
