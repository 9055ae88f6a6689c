/**
 * A small OCI image as a test builds it for a container host: Alpine's own busybox and musl in one gzip layer
 * (../shared/testdata): x86_64 busybox 1.37.0-r30 + musl 1.2.5-r21 and aarch64 busybox 1.32.1-r5 + musl 1.2.2-r0
 * from Alpine's signed .apk files; riscv64 (no signed riscv64 .apk in the corpus) busybox 1.36.1-r29 + musl 1.2.5-r0
 * from Alpine's official riscv64 minirootfs 3.20.3, its sha512 checked against Alpine's checksums file and each
 * file against the checksum (Z:) apk recorded for it in the rootfs's lib/apk/db/installed. Written as an OCI image
 * layout in a tar archive
 * (oci-layout, index.json, blobs/sha256/…) the way `ctr image import` and `docker load` read it. Deterministic:
 * fixed mtimes and a gzip header without a time, so the same inputs give the same bytes (and image caches hit).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { alpineTestdata } from './alpine-testdata';
import { readRealApk } from './alpine-real';
import { tarEntries } from './tar-entries';

export interface OciArchive {
  /** The OCI layout as a tar archive. */
  tar: Buffer;
  /** The name `ctr image import` gives the image (io.containerd.image.name). */
  ref: string;
  /** sha256 of the manifest (the image's digest). */
  manifestDigest: string;
}

type Entry = { name: string; type: 'file' | 'directory' | 'symlink'; body?: Buffer; mode?: number; linkname?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((res, rej) => {
    p.on('end', res);
    p.on('error', rej);
  });
  for (const e of entries) {
    const header = {
      name: e.name,
      type: e.type,
      mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      ...(e.linkname ? { linkname: e.linkname } : {}),
    };
    await new Promise<void>((res, rej) => p.entry(header, e.body ?? Buffer.alloc(0), (err) => (err ? rej(err) : res())));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Applets the image links to /bin/busybox (what a test runs inside the container). */
export const IMAGE_APPLETS = ['sh', 'ip', 'ping', 'cat', 'echo', 'hostname', 'ls', 'wget', 'nc', 'sleep', 'uname'];

const SIGNED_APKS = {
  x86_64: { busybox: 'x86_64/busybox-1.37.0-r30.apk', musl: 'x86_64/musl-1.2.5-r21.apk', version: '1.37.0', oci: 'amd64' },
  aarch64: { busybox: 'aarch64/busybox-1.32.1-r5.apk', musl: 'aarch64/musl-1.2.2-r0.apk', version: '1.32.1', oci: 'arm64' },
} as const;
const RISCV64_MINIROOTFS = { file: 'alpine-minirootfs-3.20.3-riscv64.tar.gz', checksums: 'docker-alpine-v3.20-checksums.sha512' };

export type OciArch = keyof typeof SIGNED_APKS | 'riscv64';

interface ImageFiles {
  busybox: Buffer;
  loader: Buffer;
  version: string;
  oci: string;
  /** Where the files came from (the image's history line). */
  origin: string;
}

async function fromSignedApks(arch: keyof typeof SIGNED_APKS): Promise<ImageFiles> {
  const src = SIGNED_APKS[arch];
  const bb = await readRealApk(alpineTestdata('official', 'packages', src.busybox));
  const musl = await readRealApk(alpineTestdata('official', 'packages', src.musl));
  const file = (apk: typeof bb, path: string) => {
    const it = apk.items.find((i) => i.path === path)?.body;
    if (!it) throw new Error(`${apk.file} has no ${path}`);
    return it;
  };
  return {
    busybox: file(bb, 'bin/busybox'),
    loader: file(musl, `lib/ld-musl-${arch}.so.1`),
    version: src.version,
    oci: src.oci,
    origin: `Alpine ${src.busybox} + ${src.musl}`,
  };
}

/** apk's file checksum as lib/apk/db/installed records it (Z:): "Q1" + base64 of the SHA-1. */
const apkChecksum = (b: Buffer) => `Q1${createHash('sha1').update(b).digest('base64')}`;

/** busybox and musl's loader from Alpine's official riscv64 minirootfs, each checked against apk's installed db. */
async function fromRiscv64Minirootfs(): Promise<ImageFiles> {
  const tarball = alpineTestdata('minirootfs', RISCV64_MINIROOTFS.file);
  const sums = await readFile(alpineTestdata('minirootfs', RISCV64_MINIROOTFS.checksums), 'utf8');
  const sha512 = createHash('sha512')
    .update(await readFile(tarball))
    .digest('hex');
  if (!sums.split('\n').some((l) => l.startsWith(`${sha512}  `) && l.endsWith(`/${RISCV64_MINIROOTFS.file}`)))
    throw new Error(`${tarball}: sha512 ${sha512} is not in Alpine's ${RISCV64_MINIROOTFS.checksums}`);
  const entries = new Map((await tarEntries(tarball)).map((e) => [e.name, e]));
  const installed = entries.get('lib/apk/db/installed')?.data.toString('utf8') ?? '';
  /** A package's stanza in the installed db and the Z: checksum it records for `dir/name`. */
  const pkg = (name: string, dir: string, file: string) => {
    const block = installed.split(/\n\n+/).find((b) => b.startsWith(`C:`) && new RegExp(`^P:${name}$`, 'm').test(b));
    const version = block && /^V:(.+)$/m.exec(block)?.[1];
    const z = block && new RegExp(`^F:${dir}\nR:${file.replace(/[.+]/g, '\\$&')}\n(?:a:.*\n)?Z:(\\S+)$`, 'm').exec(block)?.[1];
    const body = entries.get(`${dir}/${file}`)?.data;
    if (!version || !z || !body) throw new Error(`${tarball}: no ${dir}/${file} of ${name} in lib/apk/db/installed`);
    if (apkChecksum(body) !== z) throw new Error(`${tarball}: ${dir}/${file} does not match its apk checksum ${z}`);
    return { version, body };
  };
  const bb = pkg('busybox', 'bin', 'busybox');
  const musl = pkg('musl', 'lib', 'ld-musl-riscv64.so.1');
  return {
    busybox: bb.body,
    loader: musl.body,
    version: bb.version.replace(/-r\d+$/, ''),
    oci: 'riscv64',
    origin: `Alpine busybox-${bb.version} + musl-${musl.version} from the official ${RISCV64_MINIROOTFS.file}`,
  };
}

export async function busyboxOciArchive(arch: OciArch = 'x86_64'): Promise<OciArchive> {
  const src = arch === 'riscv64' ? await fromRiscv64Minirootfs() : await fromSignedApks(arch);
  const ref = `docker.io/library/nexus-busybox:${src.version}`;
  const layerTar = await tarOf([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', type: 'file', body: src.busybox, mode: 0o755 },
    ...IMAGE_APPLETS.map((a): Entry => ({ name: `bin/${a}`, type: 'symlink', linkname: '/bin/busybox' })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', type: 'file', body: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
    { name: 'lib/', type: 'directory' },
    { name: `lib/ld-musl-${arch}.so.1`, type: 'file', body: src.loader, mode: 0o755 },
    { name: `lib/libc.musl-${arch}.so.1`, type: 'symlink', linkname: `ld-musl-${arch}.so.1` },
    { name: 'proc/', type: 'directory' },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'sys/', type: 'directory' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ]);
  const layer = gzipSync(layerTar, { level: 9 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: src.oci,
      os: 'linux',
      config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
      history: [{ created_by: `nexus test: ${src.origin}` }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(layer)}`, size: layer.length }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${sha256(manifest)}`,
          size: manifest.length,
          platform: { architecture: src.oci, os: 'linux' },
          annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.replace(/^.*:/, '') },
        },
      ],
    }),
  );
  const blobs = [config, manifest, layer];
  const tar = await tarOf([
    { name: 'oci-layout', type: 'file', body: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'index.json', type: 'file', body: index },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...blobs.map((b): Entry => ({ name: `blobs/sha256/${sha256(b)}`, type: 'file', body: b })),
  ]);
  return { tar, ref, manifestDigest: `sha256:${sha256(manifest)}` };
}
