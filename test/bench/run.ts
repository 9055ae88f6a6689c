/**
 * `npm run bench`: runs every test/bench/*.bench.ts in turn (or those named on the command line) and prints their
 * tables. Each bench measures its own baseline in the same run (dd, curl, bmaptool, …) and prints ratios, so the
 * numbers mean something on any machine. Speed targets live here, never in timed unit tests.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = (await readdir(here))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of benches) {
  process.stdout.write(`\n=== ${file} ===\n`);
  const r = await execa(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: 'inherit', reject: false });
  if (r.exitCode !== 0) {
    failed++;
    process.stdout.write(`(${file} exited with ${r.exitCode})\n`);
  }
}
process.exitCode = failed ? 1 : 0;
