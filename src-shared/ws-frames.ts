/**
 * Frames on the `nexus serve` WebSocket, declared once for both ends: the server parses every client frame and
 * the browser client every server frame with these schemas. The payloads inside are checked by the dispatcher
 * against the contract.
 */
import { z } from 'zod';
import { ErrorInfoSchema } from './flash';

export const ClientFrame = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('req'), id: z.number().int().nonnegative(), name: z.string(), payload: z.unknown() }),
  z.object({ kind: z.literal('sub'), name: z.string() }),
  z.object({ kind: z.literal('unsub'), name: z.string() }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

export const ResponseSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorInfoSchema }),
]);

export const ServerFrame = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('res'), id: z.number().int().nonnegative(), response: ResponseSchema }),
  z.object({ kind: z.literal('evt'), name: z.string(), payload: z.unknown() }),
  z.object({ kind: z.literal('error'), error: ErrorInfoSchema }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
