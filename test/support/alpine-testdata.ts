/**
 * Locates the shared corpus of real, officially signed Alpine files (`../shared/testdata/alpine`
 * beside the repository clone, as in CI; NEXUS_ALPINE_TESTDATA overrides). Throws with a clear
 * message when it is missing rather than letting tests pass vacuously.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function alpineTestdata(...parts: string[]): string {
  const root = process.env.NEXUS_ALPINE_TESTDATA ? resolve(process.env.NEXUS_ALPINE_TESTDATA) : resolve(repoRoot, '..', 'shared', 'testdata', 'alpine');
  if (!existsSync(join(root, 'README.md'))) {
    throw new Error(`The Alpine test corpus is missing at ${root}: check out shared/ beside the repository or set NEXUS_ALPINE_TESTDATA.`);
  }
  return join(root, ...parts);
}

/** Official index files and the key (by short id) that signed them, from the corpus README. */
export const OFFICIAL_INDEXES = [
  {
    file: 'v3.22.2-main-x86_64-APKINDEX.tar.gz',
    key: '6165ee59',
    records: 5646,
    description: 'v3.22.2-206-ge2cfd1f9853',
    arch: 'x86_64',
    repo: 'main',
    branch: 'v3.22',
  },
  {
    file: 'v3.18.12-community-x86_64-APKINDEX.tar.gz',
    key: '6165ee59',
    records: 14929,
    description: 'v3.18.12-78-gd65a8cfa1da',
    arch: 'x86_64',
    repo: 'community',
    branch: 'v3.18',
  },
  {
    file: 'v3.17.3-main-aarch64-APKINDEX.tar.gz',
    key: '616ae350',
    records: 5004,
    description: 'v3.17.3-216-g54a39ace82a',
    arch: 'aarch64',
    repo: 'main',
    branch: 'v3.17',
  },
  {
    file: 'v3.12.7-main-x86_64-APKINDEX.tar.gz',
    key: '4a6a0840',
    records: 4836,
    description: 'v3.12.7-149-g807a5b50d3',
    arch: 'x86_64',
    repo: 'main',
    branch: 'v3.12',
  },
  {
    file: 'v3.12.3-community-x86_64-APKINDEX.tar.gz',
    key: '4a6a0840',
    records: 7912,
    description: 'v3.12.3-71-g367118debf',
    arch: 'x86_64',
    repo: 'community',
    branch: 'v3.12',
  },
] as const;

export const OFFICIAL_PACKAGES = [
  { file: 'packages/x86_64/musl-1.1.24-r10.apk', key: '4a6a0840', index: 'v3.12.7-main-x86_64-APKINDEX.tar.gz' },
  { file: 'packages/x86_64/bash-5.0.17-r0.apk', key: '4a6a0840', index: 'v3.12.7-main-x86_64-APKINDEX.tar.gz' },
  { file: 'packages/noarch/libc6-compat-1.1.24-r10.apk', key: '4a6a0840', index: 'v3.12.7-main-x86_64-APKINDEX.tar.gz' },
  { file: 'packages/x86_64/tini-0.19.0-r0.apk', key: '4a6a0840', index: 'v3.12.3-community-x86_64-APKINDEX.tar.gz' },
  { file: 'packages/aarch64/alpine-baselayout-3.2.0-r23.apk', key: '616ae350', index: null },
] as const;

export const keyFile = (shortId: string) => `alpine-devel@lists.alpinelinux.org-${shortId}.rsa.pub`;
