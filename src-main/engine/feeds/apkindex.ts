/**
 * APKINDEX.tar.gz: verify the signature over everything after the signature member, then parse the
 * `X:value` stanzas. Unknown lower-case letters are ignored; unknown upper-case letters make the
 * package uninstallable, as apk does (they announce a feature this reader does not understand).
 */
import { NexusError } from '../../../src-shared/errors';
import { parseDeps, parseProvides, type Dep, type Provide } from './deps';
import { readGzipMembers } from './gzip-members';
import { parseSignatures, verifyTrusted, type TrustedKeys } from './signature';
import { readTar } from './tar-read';

/** Which repository a package came from. */
export interface RepoRef {
  /** "main", "community", or a label for a custom feed. */
  name: string;
  /** Alpine branch, "v3.22" or "edge". */
  branch: string;
  /** Alpine architecture name: x86_64, aarch64, riscv64. */
  arch: string;
  /** Base URL or directory of the repository ("…/v3.22/main/x86_64"). */
  base: string;
}

export interface ApkPackage {
  name: string;
  version: string;
  arch: string;
  /** `C:` identity: "Q1" + base64(sha1(control member)). */
  checksum: string;
  /** `S:` .apk file size in bytes. */
  size: number;
  /** `I:` installed size in bytes. */
  installedSize: number;
  description: string;
  url: string;
  license: string;
  origin: string;
  maintainer: string;
  buildTime: number;
  commit: string;
  depends: Dep[];
  provides: Provide[];
  installIf: Dep[];
  providerPriority: number;
  /** Set when the stanza used an unknown upper-case field. */
  uninstallable?: string;
  repo: RepoRef;
}

export interface ApkIndex {
  repo: RepoRef;
  description: string;
  /** Key file name that signed it, or null when it was read without verification. */
  signer: string | null;
  packages: ApkPackage[];
}

const KNOWN_UPPER = new Set(['C', 'P', 'V', 'A', 'S', 'I', 'T', 'U', 'L', 'D']);

function emptyPackage(repo: RepoRef): ApkPackage {
  return {
    name: '', version: '', arch: repo.arch, checksum: '', size: 0, installedSize: 0, description: '', url: '', license: '', origin: '',
    maintainer: '', buildTime: 0, commit: '', depends: [], provides: [], installIf: [], providerPriority: 0, repo,
  };
}

/** Parses APKINDEX text. Stanzas without P: or V: are dropped. */
export function parseApkIndexText(text: string, repo: RepoRef): ApkPackage[] {
  const out: ApkPackage[] = [];
  let pkg = emptyPackage(repo);
  let D: string | undefined;
  let p: string | undefined;
  let i: string | undefined;
  const flush = () => {
    if (pkg.name && pkg.version) {
      pkg.depends = parseDeps(D);
      pkg.provides = parseProvides(p);
      pkg.installIf = parseDeps(i);
      if (!pkg.origin) pkg.origin = pkg.name;
      out.push(pkg);
    }
    pkg = emptyPackage(repo);
    D = p = i = undefined;
  };
  let start = 0;
  const len = text.length;
  while (start <= len) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = len;
    if (end === start) {
      flush();
    } else if (text.charCodeAt(start + 1) === 58 /* ':' */) {
      const value = text.slice(start + 2, end);
      const letter = text[start]!;
      switch (letter) {
        case 'C': pkg.checksum = value; break;
        case 'P': pkg.name = value; break;
        case 'V': pkg.version = value; break;
        case 'A': pkg.arch = value; break;
        case 'S': pkg.size = Number(value); break;
        case 'I': pkg.installedSize = Number(value); break;
        case 'T': pkg.description = value; break;
        case 'U': pkg.url = value; break;
        case 'L': pkg.license = value; break;
        case 'D': D = value; break;
        case 'o': pkg.origin = value; break;
        case 'm': pkg.maintainer = value; break;
        case 't': pkg.buildTime = Number(value); break;
        case 'c': pkg.commit = value; break;
        case 'p': p = value; break;
        case 'i': i = value; break;
        case 'k': pkg.providerPriority = Number(value) || 0; break;
        default:
          if (letter >= 'A' && letter <= 'Z' && !KNOWN_UPPER.has(letter)) pkg.uninstallable = `unknown index field "${letter}:"`;
      }
    }
    start = end + 1;
  }
  flush();
  return out;
}

/**
 * Verifies and parses an APKINDEX.tar.gz. With `keys` null the signature is not checked (only for
 * tools that just list contents). Throws APK_V3_UNSUPPORTED, UNSIGNED, UNTRUSTED_SIGNATURE, BAD_SIGNATURE,
 * TRUNCATED_FILE, BAD_INDEX.
 */
export async function readApkIndex(bytes: Buffer, repo: RepoRef, keys: TrustedKeys | null, what = `the index of ${repo.arch}/${repo.name}`): Promise<ApkIndex> {
  const members = readGzipMembers(bytes, what)!;
  // Index: member 1 = signatures (cut tar), member 2 = DESCRIPTION + APKINDEX. An unsigned index has only the latter.
  const sigEntries = members.length >= 2 ? await readTar(members[0]!.data, what) : [];
  const sigs = parseSignatures(sigEntries);
  const bodyMember = sigs.length > 0 || members.length >= 2 ? members[1] : members[0];
  if (!bodyMember) throw new NexusError('BAD_INDEX', `${what} has no APKINDEX member.`, 'Delete the cached index and fetch it again.');
  let signer: string | null = null;
  if (keys) signer = await verifyTrusted(what, sigs, keys, () => bytes.subarray(bodyMember.start));
  const entries = await readTar(bodyMember.data, what);
  const index = entries.find((e) => e.header.name === 'APKINDEX');
  if (!index) throw new NexusError('BAD_INDEX', `${what} contains no APKINDEX file.`, 'Check the repository URL; it must point at an Alpine APK v2 repository.');
  const desc = entries.find((e) => e.header.name === 'DESCRIPTION')?.data.toString('utf8').slice(0, 160).trim() ?? '';
  return { repo, description: desc, signer, packages: parseApkIndexText(index.data.toString('utf8'), repo) };
}
