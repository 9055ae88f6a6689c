/** The wizard's shared data: dropdown lists, host defaults, obvious fixes, overall build progress, warnings, card sizes. */
import { describe, expect, it } from 'vitest';
import { cardFitText, smallestCardFor } from '../../../src-shared/card-sizes';
import { CustomizationSchema, KeyboardLayout, Locale, TimeZone } from '../../../src-shared/customization';
import { KEYBOARD_LAYOUTS, LOCALES, countryChoices, fixCountry, fixHostname, fixUserName, hostDefaults, timeZoneChoices } from '../../../src-shared/locales';
import type { ProgressEvent } from '../../../src-shared/progress';
import { STAGES, overallProgress, stageName } from '../../../src-shared/stage-names';
import { rankWarnings } from '../../../src-shared/warning-rank';

const MiB = 1024 * 1024;

describe('dropdown lists', () => {
  it('every offered value passes the schema the CLI and the engine use', () => {
    expect(timeZoneChoices().length).toBeGreaterThan(300);
    expect(timeZoneChoices()[0]!.value).toBe('UTC');
    for (const z of timeZoneChoices()) expect(TimeZone.safeParse(z.value).success, z.value).toBe(true);
    for (const k of KEYBOARD_LAYOUTS) expect(KeyboardLayout.safeParse(k.value).success, k.value).toBe(true);
    for (const l of LOCALES) expect(Locale.safeParse(l.value).success, l.value).toBe(true);
    const countries = countryChoices();
    expect(countries.find((c) => c.value === 'GB')?.label).toBe('United Kingdom (GB)');
    expect(countries.some((c) => c.value === '00')).toBe(false);
  });

  it('prefills from this computer: de-DE in Berlin, en-GB, a bare "en", an unknown zone', () => {
    expect(hostDefaults({ timeZone: 'Europe/Berlin', languages: ['de-DE', 'de'] })).toEqual({
      timezone: 'Europe/Berlin',
      keyboard: 'de',
      locale: 'de_DE.UTF-8',
      wifiCountry: 'DE',
    });
    expect(hostDefaults({ timeZone: 'Europe/London', languages: ['en-GB'] })).toEqual({
      timezone: 'Europe/London',
      keyboard: 'gb',
      locale: 'en_GB.UTF-8',
      wifiCountry: 'GB',
    });
    expect(hostDefaults({ timeZone: 'America/New_York', languages: ['en'] })).toEqual({
      timezone: 'America/New_York',
      keyboard: 'us',
      locale: 'C.UTF-8',
      wifiCountry: '',
    });
    expect(hostDefaults({ timeZone: 'Mars/Olympus', languages: [] }).timezone).toBe('UTC');
    // Whatever is suggested builds.
    const d = hostDefaults({ timeZone: 'Europe/Zurich', languages: ['de-CH'] });
    expect(CustomizationSchema.safeParse({ timezone: d.timezone, keyboard: d.keyboard, locale: d.locale }).success).toBe(true);
    expect(d.keyboard).toBe('ch');
  });

  it('fixes the obvious, saying so, and leaves the rest to validation', () => {
    expect(fixUserName('Alice')).toEqual({ value: 'alice', note: expect.stringContaining('"alice"') });
    expect(fixUserName('Ada Lovelace').value).toBe('ada-lovelace');
    expect(fixUserName('bob')).toEqual({ value: 'bob' });
    expect(fixCountry('UK')).toEqual({ value: 'GB', note: expect.stringContaining('ISO 3166') });
    expect(fixCountry('de').value).toBe('DE');
    expect(fixCountry('Germany').value).toBe('DE');
    expect(fixCountry('XX')).toEqual({ value: 'XX' });
    expect(fixHostname('Nexus Pi').value).toBe('Nexus-Pi');
    expect(fixHostname('nexus_pi').value).toBe('nexus-pi');
  });
});

const ev = (stage: string, status: ProgressEvent['status'], fraction: number | null = null, etaSeconds: number | null = null): ProgressEvent => ({
  type: 'progress',
  stage,
  status,
  fraction,
  bytesDone: null,
  bytesTotal: null,
  rate: null,
  etaSeconds,
  message: '',
});

describe('overall build progress', () => {
  const ids = ['packages-resolve', 'packages-fetch', 'packages-unpack', 'packages-lock', 'rootfs', 'configure', 'initramfs', 'filesystems', 'boot', 'pack'];
  const total = ids.reduce((a, id) => a + STAGES[id]!.weight, 0);

  it('plain names for every stage the engine runs; unknown stages keep their title', () => {
    for (const id of ids) expect(stageName(id)).not.toBe(id);
    expect(stageName('something-new', 'Do something new')).toBe('Do something new');
  });

  it("weights finished stages and the running one; time left follows this computer's pace, not the download's", () => {
    const t0 = 1_000_000;
    // All pending: nothing done, no estimate yet.
    expect(
      overallProgress(
        ids.map((id) => ev(id, 'pending')),
        {},
        t0,
      ),
    ).toEqual({ fraction: 0, etaSeconds: null });
    const w = (id: string) => STAGES[id]!.weight;
    // resolve and fetch done, unpack half way; local stages ran at `pace` × their weights, the download took `fetchS`.
    const at = (pace: number, fetchS: number) => {
      const started = {
        'packages-resolve': t0,
        'packages-fetch': t0 + w('packages-resolve') * pace * 1000,
        'packages-unpack': t0 + (w('packages-resolve') * pace + fetchS) * 1000,
      };
      const now = started['packages-unpack'] + (w('packages-unpack') / 2) * pace * 1000;
      const stages = ids.map((id, i) => (i < 2 ? ev(id, 'done') : i === 2 ? ev(id, 'running', 0.5) : ev(id, 'pending')));
      return overallProgress(stages, started, now);
    };
    const done = w('packages-resolve') + w('packages-fetch') + w('packages-unpack') / 2;
    expect(at(1, 1).fraction).toBeCloseTo(done / total, 5);
    const localLeft = total - done - 0; // the download is finished
    // At the measured pace the estimate is the remaining weight.
    expect(at(1, 1).etaSeconds).toBe(Math.round(localLeft));
    // A slow mirror (60 s download) does not make the local stages look slow.
    expect(at(1, 60).etaSeconds).toBe(at(1, 1).etaSeconds);
    // A computer twice as slow: the estimate moves towards twice the remaining weight (the prior holds it back at first).
    const slow = at(2, 1).etaSeconds!;
    expect(slow).toBeGreaterThan(localLeft * 1.2);
    expect(slow).toBeLessThanOrEqual(Math.round(localLeft * 2));
    // A download still to come counts its weight; a running one its own byte-based estimate.
    const fetching = ids.map((id, i) => (i === 0 ? ev(id, 'done') : i === 1 ? ev(id, 'running', 0.1, 42) : ev(id, 'pending')));
    const p = overallProgress(fetching, { 'packages-resolve': t0, 'packages-fetch': t0 + w('packages-resolve') * 1000 }, t0 + 2000);
    expect(p.etaSeconds).toBeGreaterThanOrEqual(42);
    // Done is 100 %, nothing left.
    expect(
      overallProgress(
        ids.map((id) => ev(id, 'done')),
        { 'packages-resolve': t0 },
        t0 + 9000,
      ),
    ).toEqual({ fraction: 1, etaSeconds: 0 });
  });

  it('a running stage without a fraction creeps forward but never counts as finished', () => {
    const t0 = 0;
    const p = overallProgress([ev('pack', 'running'), ev('compress', 'pending')], { pack: t0 }, 3600_000);
    expect(p.fraction).toBeLessThan(STAGES.pack!.weight / (STAGES.pack!.weight + STAGES.compress!.weight));
    expect(p.fraction).toBeGreaterThan(0);
  });
});

describe('warnings and card sizes', () => {
  it("ranks what breaks the user's intent first", () => {
    const r = rankWarnings([
      'tinybox resolved to 12 packages, over its budget of at most 9.',
      'SSH keys were given, but this build has no SSH server: add the "ssh" fragment to log in over the network.',
    ]);
    expect(r.map((w) => w.rank)).toEqual(['blocking', 'worth-knowing']);
  });

  it('says which marketed card sizes an image fits (the Pi image of 257 MiB does not fit "256 MB")', () => {
    expect(smallestCardFor(257 * MiB)).toBe('512 MB');
    expect(smallestCardFor(12 * MiB)).toBe('128 MB');
    expect(smallestCardFor(1024 * MiB)).toBe('2 GB');
    expect(smallestCardFor(4e9)).toBe('8 GB');
    expect(cardFitText(257 * MiB)).toBe('257.0 MiB: fits cards and USB sticks of 512 MB or larger.');
  });
});
