/**
 * Node types a byte stream's chunks as `any`; a stream opened without an encoding yields Buffers. These check it,
 * so a stream opened with an encoding by mistake fails with a clear message instead of corrupting a hash or a file.
 */

/** The chunk, if it is a Buffer; throws otherwise. */
export function asBuffer(chunk: unknown): Buffer {
  if (!Buffer.isBuffer(chunk)) throw new TypeError(`Expected a byte stream, got a chunk of type ${typeof chunk} (was the stream opened with an encoding?).`);
  return chunk;
}

/** A byte stream's chunks as Buffers (each checked by asBuffer). */
export async function* bufferChunks(stream: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of stream) yield asBuffer(chunk);
}
