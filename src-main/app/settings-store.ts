/** Choices remembered between runs, in the config dir. Secrets are never written (the schema has no field for them). */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Settings } from '../../src-shared/contract';

export class SettingsStore {
  constructor(private readonly dir: string) {}

  private get file() {
    return join(this.dir, 'settings.json');
  }

  async get(): Promise<Settings> {
    try {
      const r = Settings.safeParse(JSON.parse(await readFile(this.file, 'utf8')));
      return r.success ? r.data : Settings.parse({});
    } catch {
      return Settings.parse({});
    }
  }

  /** Writes atomically; the request was already parsed with the strict schema, so unknown (secret) keys never get here. */
  async save(settings: Settings): Promise<Settings> {
    const clean = Settings.parse(settings);
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(clean, null, 2), { mode: 0o600 });
    await rename(tmp, this.file);
    return clean;
  }
}
