/** Reads small in-memory tars (signature, control and index members) with tar-stream. */
import tar from 'tar-stream';
import { NexusError } from '../../../src-shared/errors';

export interface TarEntry {
  header: tar.Header;
  data: Buffer;
}

/** All entries of a (possibly "cut", EOF-less) tar held in memory. */
export function readTar(buf: Buffer, what: string): Promise<TarEntry[]> {
  return new Promise((resolve, rejectRaw) => {
    const reject = (err: Error) =>
      rejectRaw(
        err instanceof NexusError ? err : new NexusError('BAD_TAR', `${what}: ${err.message}.`, 'Delete the file and download it again.', { cause: err }),
      );
    const entries: TarEntry[] = [];
    const ex = tar.extract();
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        entries.push({ header, data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', () => resolve(entries));
    ex.on('error', reject);
    try {
      ex.end(buf);
    } catch (err) {
      reject(err as Error);
    }
  });
}
