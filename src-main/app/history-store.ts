/** Recent builds (newest first), so a card can be rewritten without rebuilding. */
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { HistoryEntry } from '../../src-shared/contract';

const MAX_ENTRIES = 50;
const Stored = z.array(HistoryEntry.omit({ present: true }));
type StoredEntry = z.infer<typeof Stored>[number];

const exists = (p: string) => access(p).then(() => true, () => false);

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

  private async write(entries: StoredEntry[]): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(entries.slice(0, MAX_ENTRIES), null, 2));
    await rename(tmp, this.file);
  }

  async list(): Promise<HistoryEntry[]> {
    const entries = await this.read();
    return Promise.all(entries.map(async (e) => ({ ...e, present: await exists(e.image) })));
  }

  async get(id: string): Promise<StoredEntry | undefined> {
    return (await this.read()).find((e) => e.id === id);
  }

  async add(entry: StoredEntry): Promise<void> {
    const entries = (await this.read()).filter((e) => e.id !== entry.id && e.image !== entry.image);
    await this.write([entry, ...entries]);
  }

  async remove(id: string): Promise<void> {
    await this.write((await this.read()).filter((e) => e.id !== id));
  }
}
