/**
 * A small OCI image as a test builds it for a container host: Alpine's own signed busybox and musl (from
 * ../shared/testdata: x86_64 busybox 1.37.0-r30 + musl 1.2.5-r21, aarch64 busybox 1.32.1-r5 + musl 1.2.2-r0) in one
 * gzip layer, written as an OCI image layout in a tar archive
 * (oci-layout, index.json, blobs/sha256/…) the way `ctr image import` and `docker load` read it. Deterministic:
 * fixed mtimes and a gzip header without a time, so the same inputs give the same bytes (and image caches hit).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { alpineTestdata } from './alpine-testdata';
import { readRealApk } from './alpine-real';

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

const SOURCES = {
  x86_64: { busybox: 'x86_64/busybox-1.37.0-r30.apk', musl: 'x86_64/musl-1.2.5-r21.apk', version: '1.37.0', oci: 'amd64' },
  aarch64: { busybox: 'aarch64/busybox-1.32.1-r5.apk', musl: 'aarch64/musl-1.2.2-r0.apk', version: '1.32.1', oci: 'arm64' },
} as const;

export async function busyboxOciArchive(arch: keyof typeof SOURCES = 'x86_64'): Promise<OciArchive> {
  const src = SOURCES[arch];
  const ref = `docker.io/library/nexus-busybox:${src.version}`;
  const bb = await readRealApk(alpineTestdata('official', 'packages', src.busybox));
  const musl = await readRealApk(alpineTestdata('official', 'packages', src.musl));
  const file = (apk: typeof bb, path: string) => {
    const it = apk.items.find((i) => i.path === path);
    if (!it) throw new Error(`${apk.file} has no ${path}`);
    return it;
  };
  const busybox = file(bb, 'bin/busybox');
  const loader = file(musl, `lib/ld-musl-${arch}.so.1`);
  const layerTar = await tarOf([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', type: 'file', body: busybox.body!, mode: 0o755 },
    ...IMAGE_APPLETS.map((a): Entry => ({ name: `bin/${a}`, type: 'symlink', linkname: '/bin/busybox' })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', type: 'file', body: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
    { name: 'lib/', type: 'directory' },
    { name: `lib/ld-musl-${arch}.so.1`, type: 'file', body: loader.body!, mode: 0o755 },
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
      history: [{ created_by: `nexus test: Alpine ${src.busybox} + ${src.musl}` }],
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
