/**
 * Our signify implementation against OpenBSD's own signify (Debian's signify-openbsd): a list signed by
 * the real tool verifies with our code, a list signed by our test helper verifies with the real tool,
 * and tampering is caught by both.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChecksumList, parsePublicKey, verifyEmbedded } from '../../../src-main/engine/official/signify';
import { whichTool } from '../../../src-main/engine/host-tools';
import { fakeImage, makeSignifyKey, signEmbedded } from '../../support/signify';

let dir: string;
let signify: string | null;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-signify-'));
  signify = await whichTool('signify-openbsd');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('interoperability with signify-openbsd', () => {
  it('verifies SHA256.sig made by `signify -S -e` over `sha256 -b`-style lines, and signify verifies ours', async () => {
    if (!signify) throw new Error('signify-openbsd is not installed (apt-get install signify-openbsd; listed in .ci/apt-packages.txt)');
    await writeFile(join(dir, 'miniroot80.img'), fakeImage(100_000, 3));
    await writeFile(join(dir, 'BOOTAA64.EFI'), fakeImage(5000, 4));
    await execa(signify, ['-G', '-n', '-c', 'nexus interop key', '-p', join(dir, 'k.pub'), '-s', join(dir, 'k.sec')]);
    const sums = await execa('sha256sum', ['--tag', 'BOOTAA64.EFI', 'miniroot80.img'], { cwd: dir });
    await writeFile(join(dir, 'SHA256'), sums.stdout + '\n');
    await execa(signify, ['-S', '-e', '-s', join(dir, 'k.sec'), '-m', join(dir, 'SHA256'), '-x', join(dir, 'SHA256.sig')]);
    // signify itself checks the files listed in the signed list:
    await execa(signify, ['-C', '-p', join(dir, 'k.pub'), '-x', join(dir, 'SHA256.sig'), 'miniroot80.img'], { cwd: dir });

    const pub = parsePublicKey(await readFile(join(dir, 'k.pub')));
    const sigBytes = await readFile(join(dir, 'SHA256.sig'));
    const entries = parseChecksumList(verifyEmbedded(pub, sigBytes));
    expect(entries.map((e) => e.file)).toEqual(['BOOTAA64.EFI', 'miniroot80.img']);

    const tampered = Buffer.from(sigBytes);
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
    expect(() => verifyEmbedded(pub, tampered)).toThrow(/altered after signing/);

    // The other way round: our test signer's output verifies with the real tool.
    const ours = makeSignifyKey('nexus test key');
    await writeFile(join(dir, 'ours.pub'), ours.pubFile);
    await writeFile(join(dir, 'ours.sig'), signEmbedded(ours, 'SHA256 (x) = ' + 'ab'.repeat(32) + '\n'));
    await execa(signify, ['-V', '-e', '-p', join(dir, 'ours.pub'), '-x', join(dir, 'ours.sig'), '-m', join(dir, 'ours.msg')]);
    expect(await readFile(join(dir, 'ours.msg'), 'utf8')).toBe('SHA256 (x) = ' + 'ab'.repeat(32) + '\n');
    const bad = await execa(signify, ['-V', '-e', '-p', join(dir, 'k.pub'), '-x', join(dir, 'ours.sig'), '-m', join(dir, 'bad.msg')], { reject: false });
    expect(bad.exitCode).not.toBe(0);
  });
});
