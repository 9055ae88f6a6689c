/** Progress and log events streamed by every pipeline (build, flash) to the CLI and the UI. */
import { z } from 'zod';

export const StageStatus = z.enum(['pending', 'running', 'done', 'failed', 'cancelled', 'skipped']);
export type StageStatus = z.infer<typeof StageStatus>;

export const ProgressEvent = z.object({
  type: z.literal('progress'),
  stage: z.string(),
  status: StageStatus,
  /** 0..1, or null when the stage cannot know its total. */
  fraction: z.number().min(0).max(1).nullable(),
  bytesDone: z.number().nonnegative().nullable(),
  bytesTotal: z.number().nonnegative().nullable(),
  /** bytes per second, averaged over the last few seconds */
  rate: z.number().nonnegative().nullable(),
  etaSeconds: z.number().nonnegative().nullable(),
  message: z.string(),
});
export type ProgressEvent = z.infer<typeof ProgressEvent>;

export const LogLevel = z.enum(['debug', 'info', 'warn', 'error']);
export type LogLevel = z.infer<typeof LogLevel>;

export const LogEvent = z.object({
  type: z.literal('log'),
  stage: z.string(),
  level: LogLevel,
  message: z.string(),
  /** milliseconds since the epoch */
  time: z.number(),
});
export type LogEvent = z.infer<typeof LogEvent>;

export const PipelineEvent = z.discriminatedUnion('type', [ProgressEvent, LogEvent]);
export type PipelineEvent = z.infer<typeof PipelineEvent>;
