/** Recent builds (newest first), so a card can be rewritten without rebuilding. */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { HistoryEntry } from '../../src-shared/contract';
import { serialized, writeJsonAtomic } from './json-file';

const MAX_ENTRIES = 50;
const Stored = z.array(HistoryEntry.omit({ present: true }));
type StoredEntry = z.infer<typeof Stored>[number];

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

export class HistoryStore {
  constructor(private readonly dir: string) {}

  private get file() {
    return join(this.dir, 'history.json');
  }

  private async read(): Promise<StoredEntry[]> {
    try {
      const r = Stored.safeParse(JSON.parse(await readFile(this.file, 'utf8')));
      return r.success ? r.data : [];
    } catch {
      return [];
    }
  }

  /** Read-modify-write under the file's lock, so concurrent adds and removes never lose one another's change. */
  private update(change: (entries: StoredEntry[]) => StoredEntry[]): Promise<void> {
    return serialized(this.file, async () => writeJsonAtomic(this.file, change(await this.read()).slice(0, MAX_ENTRIES), 0o600));
  }

  async list(): Promise<HistoryEntry[]> {
    const entries = await this.read();
    return Promise.all(entries.map(async (e) => ({ ...e, present: await exists(e.image) })));
  }

  async get(id: string): Promise<StoredEntry | undefined> {
    return (await this.read()).find((e) => e.id === id);
  }

  async add(entry: StoredEntry): Promise<void> {
    await this.update((entries) => [entry, ...entries.filter((e) => e.id !== entry.id && e.image !== entry.image)]);
  }

  async remove(id: string): Promise<void> {
    await this.update((entries) => entries.filter((e) => e.id !== id));
  }
}
