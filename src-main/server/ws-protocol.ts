/** Frames on the `nexus serve` WebSocket. The payloads are checked by the dispatcher against the contract. */
import { z } from 'zod';

export const ClientFrame = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('req'), id: z.number().int().nonnegative(), name: z.string(), payload: z.unknown() }),
  z.object({ kind: z.literal('sub'), name: z.string() }),
  z.object({ kind: z.literal('unsub'), name: z.string() }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export type ServerFrame =
  | { kind: 'res'; id: number; response: unknown }
  | { kind: 'evt'; name: string; payload: unknown }
  | { kind: 'error'; error: { code: string; message: string; hint?: string } };
