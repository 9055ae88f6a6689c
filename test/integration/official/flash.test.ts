/**
 * The planned OpenBSD image goes the whole way: fixture mirror → signify-verified build → the flashing
 * path (flash(), O_DIRECT writer with read-back verification) onto a loop device, and the bytes on the
 * device hash to the line of the signed SHA256 list. Needs root and loop devices (as CI has).
 */
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomizationSchema } from '../../../src-shared/customization';
import { buildOfficial } from '../../../src-main/engine/official';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { resolvePlan } from '../../../src-main/engine/plan/resolve';
import { officialPlanOf } from '../../../src-shared/plan';
import { listDrives } from '../../../src-main/engine/drives';
import { flash } from '../../../src-main/engine/flash';
import { LoopSet } from '../../support/loop-devices';
import { serveDirectory, type TestHttpServer } from '../../support/http-server';
import { fakeImage, makeSignifyKey, sha256List, signEmbedded } from '../../support/signify';

const MiB = 1 << 20;
const loops = new LoopSet();
let server: TestHttpServer;
let dir: string;
const image = fakeImage(6 * MiB, 11);
const signer = makeSignifyKey('openbsd 8.0 base public key (nexus test key)');

beforeAll(async () => {
  dir = await loops.workDir();
  await mkdir(join(dir, 'mirror', '8.0', 'arm64'), { recursive: true });
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys', 'openbsd-80-base.pub'), signer.pubFile);
  await writeFile(join(dir, 'mirror', '8.0', 'arm64', 'miniroot80.img'), image);
  await writeFile(join(dir, 'mirror', '8.0', 'arm64', 'SHA256.sig'), signEmbedded(signer, sha256List({ 'miniroot80.img': image })));
  server = await serveDirectory(join(dir, 'mirror'));
});
afterAll(async () => {
  await server?.close();
  await loops.detachAll();
});

describe('openbox image through the flashing path', () => {
  it('writes the verified OpenBSD image to a loop device and verifies it', async () => {
    const catalog = await loadCatalog();
    const plan = officialPlanOf(
      resolvePlan(catalog, {
        profile: 'openbox',
        arch: 'arm64',
        target: 'rpi5',
        fragments: ['base', 'mesh', 'media'],
        output: join(dir, 'dist', 'openbox-rpi5.img'),
        customization: CustomizationSchema.parse({ sshKeys: [] }),
      }),
    );
    const built = await buildOfficial(plan, { mirror: server.url, keysDir: join(dir, 'keys') }, { cacheRoot: join(dir, 'cache') });
    const signed = createHash('sha256').update(image).digest('hex');
    expect(built.sha256).toBe(signed);

    const target = await loops.create(16 * MiB);
    const list = () => listDrives({ extraDevices: loops.devices(), drivelist: async () => [] });
    const r = await flash({ source: { kind: 'file', path: built.image }, targets: [target.device], verify: true }, { listDrives: list });
    expect(r.ok).toBe(true);
    expect(r.targets.map((t) => t.status)).toEqual(['done']);

    const dd = await execa('dd', [`if=${target.device}`, 'bs=1M', `count=${image.length / MiB}`, 'iflag=direct', 'status=none'], { encoding: 'buffer' });
    expect(createHash('sha256').update(Buffer.from(dd.stdout)).digest('hex')).toBe(signed);
  }, 60_000);
});
