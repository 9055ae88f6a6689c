import { bcryptVerify } from 'hash-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../../src-shared/catalog';
import { CustomizationSchema, type CustomizationInput } from '../../../src-shared/customization';
import { answerMatches, generateAutoinstall, INSTALLER_QUESTIONS } from '../../../src-main/engine/official/autoinstall';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { resolvePlan } from '../../../src-main/engine/plan/resolve';
import { officialPlanOf } from '../../../src-shared/plan';

const KEY1 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl puffy@example';
const KEY2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHv7+0aS1V4wFHbE3NjfXb+T5vRxqdCWwSjg1w0Iy2dJ other@example';
const SHA512 = '$6$saltsalt$' + 'a'.repeat(86);
const BCRYPT = '$2b$10$' + 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0';

let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog();
});

const plan = (customization: CustomizationInput = {}, arch = 'arm64', target = 'rpi5', fragments = ['base', 'mesh', 'media']) =>
  officialPlanOf(resolvePlan(catalog, { profile: 'openbox', arch, target, fragments, customization: CustomizationSchema.parse(customization) }));

/** Reads install.conf the way install.sub's _autorespond does: "question = answer", comments and junk skipped. */
function readAnswers(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => /^[^#=].*=.+/.test(l))
    .map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()] as [string, string];
    });
}

/** The installer's question for a key, with the interface and user names filled in. */
const questionsFor = (user: string) => INSTALLER_QUESTIONS.map((q) => ({ ...q, question: q.question.replace('USER', user).replace('IF', 'bse0') }));

describe('install.conf against the installer question set', () => {
  it('answers every required question, and each line matches exactly one installer question', async () => {
    const ai = await generateAutoinstall(
      plan({ hostname: 'fortress', user: { name: 'puffy', passwordHash: SHA512 }, sshKeys: [KEY1], timezone: 'Europe/Berlin' }),
    );
    const qs = questionsFor('puffy');
    const lines = readAnswers(ai.text);
    for (const [key] of lines) {
      const hits = qs.filter((q) => answerMatches(key, q.question));
      expect(hits.length, key).toBeGreaterThan(0);
      // One question, or variants of one question (the partitioning prompt differs per platform).
      expect(new Set(hits.map((h) => h.group ?? h.question)).size, key).toBe(1);
    }
    for (const q of qs.filter((x) => x.required))
      expect(
        lines.some(([k]) => answerMatches(k, q.question)),
        q.question,
      ).toBe(true);
    const get = (k: string) => lines.find(([key]) => key === k)?.[1];
    expect(get('System hostname')).toBe('fortress');
    expect(get('Setup a user')).toBe('puffy');
    expect(get('Public ssh key for user puffy')).toBe(KEY1);
    expect(get('What timezone are you in')).toBe('Europe/Berlin');
    expect(get('IPv4 address for')).toBe('autoconf');
    expect(get('Allow root ssh login')).toBe('no');
    expect(get('Location of sets')).toBe('http');
    expect(get('HTTP Server')).toBe('cdn.openbsd.org');
    expect(get('Server directory')).toBe('pub/OpenBSD/8.0/arm64');
    // media asks for mpv/ffmpeg: keep the X libraries they link against, drop games.
    expect(get('Set name(s)')).toBe('-game*');
    // Installing onto the card the miniroot booted from: take the whole disk, not the miniroot's small OpenBSD area.
    expect(get('Use (W)hole')).toBe('whole');
    expect(qs.filter((q) => answerMatches('Use (W)hole', q.question))).toHaveLength(4);
    expect(ai.packagesAfterInstall).toEqual(['ffmpeg', 'mpv']);
  });

  it('uses the matching rule of install.sub', () => {
    expect(answerMatches('Password for root account', 'Password for root account?')).toBe(true);
    expect(answerMatches('password FOR root', 'Password for root account?')).toBe(true);
    expect(answerMatches('for root', 'Password for root account?')).toBe(true);
    expect(answerMatches('ord for root', 'Password for root account?')).toBe(false);
    expect(answerMatches('Use (A)uto layout', 'Use (A)uto layout, (E)dit auto layout, or create (C)ustom layout?')).toBe(false);
    expect(answerMatches('Set name(s)', "Set name(s)? (or 'abort' or 'done')")).toBe(true);
  });

  it('never passes yescrypt/SHA-512 hashes on; locks those accounts and says so', async () => {
    const ai = await generateAutoinstall(plan({ user: { name: 'puffy', passwordHash: SHA512 }, rootPasswordHash: SHA512, sshKeys: [KEY1] }));
    expect(ai.text).not.toContain('$6$');
    const lines = Object.fromEntries(readAnswers(ai.text));
    expect(lines['Password for root account']).toBe('*************');
    expect(lines['Password for user puffy']).toBe('*************');
    expect(ai.warnings.join('\n')).toMatch(/only takes bcrypt/);
    expect(ai.warnings.join('\n')).toMatch(/password login for puffy is disabled/);
    expect(ai.temporaryRootPassword).toBeUndefined();
  });

  it('passes bcrypt hashes through', async () => {
    const ai = await generateAutoinstall(plan({ user: { name: 'puffy' } }), { userBcrypt: BCRYPT, rootBcrypt: BCRYPT });
    const lines = Object.fromEntries(readAnswers(ai.text));
    expect(lines['Password for user puffy']).toBe(BCRYPT);
    expect(lines['Password for root account']).toBe(BCRYPT);
  });

  it('gives root a temporary bcrypt password only when nobody could log in otherwise', async () => {
    const ai = await generateAutoinstall(plan({}), { temporaryPassword: 'correct-horse' });
    expect(ai.temporaryRootPassword).toBe('correct-horse');
    const hash = Object.fromEntries(readAnswers(ai.text))['Password for root account']!;
    expect(hash).toMatch(/^\$2b\$10\$/);
    expect(ai.text).not.toContain('correct-horse');
    expect(await bcryptVerify({ password: 'correct-horse', hash: hash.replace('$2b$', '$2a$') })).toBe(true);
    expect(Object.fromEntries(readAnswers(ai.text))['Setup a user']).toBe('no');
  });

  it('root gets the SSH key when there is no user; extra keys are reported', async () => {
    const ai = await generateAutoinstall(plan({ sshKeys: [KEY1, KEY2] }));
    const lines = Object.fromEntries(readAnswers(ai.text));
    expect(lines['Public ssh key for root account']).toBe(KEY1);
    expect(lines['Allow root ssh login']).toBe('prohibit-password');
    expect(ai.text).not.toContain(KEY2);
    expect(ai.warnings.join('\n')).toMatch(/one SSH key per account/);
  });

  it('takes the sets from the install image on amd64, splits host and domain, maps keyboards', async () => {
    const ai = await generateAutoinstall(plan({ hostname: 'gw.example.org', keyboard: 'gb', sshKeys: [KEY1] }, 'x86_64', 'pc', []));
    const lines = Object.fromEntries(readAnswers(ai.text));
    expect(lines['Location of sets']).toBe('disk');
    expect(lines['Is the disk partition already mounted']).toBe('no');
    expect(lines['HTTP Server']).toBeUndefined();
    expect(lines['System hostname']).toBe('gw');
    expect(lines['DNS domain name']).toBe('example.org');
    expect(lines['Choose your keyboard layout']).toBe('uk');
    expect(lines['Set name(s)']).toBe('-game* -x*');
    expect(lines['Use (W)hole']).toBeUndefined();
  });

  it('names the root disk only when asked, and only with an OpenBSD disk name', async () => {
    const p = plan({ sshKeys: [KEY1] });
    expect(Object.fromEntries(readAnswers((await generateAutoinstall(p, { rootDisk: 'sd1' })).text))['Which disk is the root disk']).toBe('sd1');
    expect(readAnswers((await generateAutoinstall(p)).text).some(([k]) => k.startsWith('Which disk'))).toBe(false);
    await expect(generateAutoinstall(p, { rootDisk: '/dev/sda' })).rejects.toMatchObject({ code: 'ANSWER_INVALID' });
  });

  it('leaves Wi-Fi out with a reason', async () => {
    const ai = await generateAutoinstall(plan({ sshKeys: [KEY1], wifi: { ssid: 'home', passphrase: 'secret-pass', country: 'DE' } }));
    expect(ai.text).not.toContain('secret-pass');
    expect(ai.warnings.join('\n')).toMatch(/Wi-Fi "home" is not put into install.conf/);
  });
});
