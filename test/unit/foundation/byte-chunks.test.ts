/** A byte stream's chunks are Buffers; a stream opened with an encoding is refused with a message, not hashed as text. */
import { createReadStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asBuffer, bufferChunks } from '../../../src-main/engine/byte-chunks';

describe('byte chunks', () => {
  it('passes the Buffers of a file stream through unchanged', async () => {
    const chunks: Buffer[] = [];
    for await (const c of bufferChunks(createReadStream('package.json'))) chunks.push(c);
    expect(Buffer.concat(chunks).toString('utf8')).toContain('"name"');
  });

  it('refuses the strings of a stream opened with an encoding', async () => {
    const read = async () => {
      for await (const c of bufferChunks(createReadStream('package.json', 'utf8'))) expect(c).toBeInstanceOf(Buffer);
    };
    await expect(read()).rejects.toThrow(/Expected a byte stream, got a chunk of type string/);
    expect(() => asBuffer(new Uint8Array(2))).toThrow(/got a chunk of type object/);
  });
});
