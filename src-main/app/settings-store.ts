/** Choices remembered between runs, in the config dir. Secrets are never written (the schema has no field for them). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Settings } from '../../src-shared/contract';
import { serialized, writeJsonAtomic } from './json-file';

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

  /**
   * Writes atomically, one save after another (concurrent saves never share a temporary file; the last one wins).
   * The request was already parsed with the strict schema, so unknown (secret) keys never get here.
   */
  async save(settings: Settings): Promise<Settings> {
    const clean = Settings.parse(settings);
    await serialized(this.file, () => writeJsonAtomic(this.file, clean, 0o600));
    return clean;
  }
}
