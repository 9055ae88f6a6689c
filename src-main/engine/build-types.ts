/**
 * The contract between the build entry point (src-main/engine/build.ts), its two recipes
 * (compose: src-main/engine/image/, official image: src-main/engine/official/) and the adapters (CLI, server, Electron).
 */
import type { PipelineEvent } from '../../src-shared/progress';
import type { BuildPlan } from '../../src-shared/plan';
import type { ConsoleCommandResult, ConsoleSessionPlan } from './vm/console-session';

export interface BuildOptions {
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
  /** Build only from the cache; fail early listing what is missing. */
  offline?: boolean;
  /** Override the plan's mirrors: an http(s) URL or a local directory (feed root, or release mirror root). */
  mirror?: string;
  /** Override the trusted keys directory. */
  keysDir?: string;
  /** Reuse exact package versions from a lock file. */
  lockFile?: string;
  /** Boot the result in QEMU and wait for the marker. */
  bootTest?: boolean;
  /** With bootTest: then log in on the serial console and run these commands (what a user does next). */
  bootTestSession?: ConsoleSessionPlan;
  /** Seconds since the epoch for reproducible timestamps (default: SOURCE_DATE_EPOCH env, else a fixed epoch from the plan). */
  sourceDateEpoch?: number;
  /** Also write compressed copies. */
  compress?: Array<'zst' | 'xz'>;
  /** Replace existing regular output files even when they are not a previous Nexus output (never devices, dirs, links). */
  force?: boolean;
}

export interface BuildOutputFile {
  kind: 'image' | 'checksum' | 'bmap' | 'manifest' | 'sbom' | 'lock' | 'compressed' | 'console-log' | 'answers';
  path: string;
  size: number;
}

export interface BuildResult {
  plan: BuildPlan;
  image: string;
  sha256: string;
  /** Bytes of the image file (apparent size). */
  size: number;
  files: BuildOutputFile[];
  packageCount: number;
  bootTest?: { passed: boolean; seconds: number; log: string; reason?: string; commands?: ConsoleCommandResult[] };
  warnings: string[];
}
