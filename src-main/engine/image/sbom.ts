/** SPDX 2.3 JSON document for an image, from its lock file. */
import type { ComposePlan } from '../../../src-shared/plan';
import { NEXUS_VERSION } from '../../../src-shared/version';
import type { LockFile } from './lock';

const SPDX_ID = (s: string) => s.replace(/[^A-Za-z0-9.-]/g, '-');
/** Alpine `L:` values are mostly SPDX expressions; anything else is declared NOASSERTION rather than guessed. */
const LICENSE_EXPR = /^\(?[A-Za-z0-9.+-]+(\s+WITH\s+[A-Za-z0-9.+-]+)?\)?(\s+(AND|OR)\s+\(?[A-Za-z0-9.+-]+(\s+WITH\s+[A-Za-z0-9.+-]+)?\)?)*$/;

export function spdxDocument(plan: ComposePlan, lock: LockFile, epoch: number, imageSha256: string): Record<string, unknown> {
  const imageId = 'SPDXRef-Image';
  const packages = lock.packages.map((p) => ({
    name: p.name,
    SPDXID: `SPDXRef-Package-${SPDX_ID(p.name)}`,
    versionInfo: p.version,
    supplier: 'Organization: Alpine Linux',
    downloadLocation: plan.feed.mirrors[0]
      ? `${plan.feed.mirrors[0].replace(/\/$/, '')}/${lock.feed.branch}/${p.repository}/${p.arch}/${p.name}-${p.version}.apk`
      : 'NOASSERTION',
    filesAnalyzed: false,
    homepage: p.url || 'NOASSERTION',
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: p.license && LICENSE_EXPR.test(p.license) ? p.license : 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    ...(p.checksum.startsWith('Q1') ? { checksums: [{ algorithm: 'SHA1', checksumValue: Buffer.from(p.checksum.slice(2), 'base64').toString('hex') }] } : {}),
    externalRefs: [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: `pkg:apk/alpine/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}?arch=${p.arch}`,
      },
    ],
  }));
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${plan.box.name}-${plan.board.name}`,
    documentNamespace: `https://nexus-imager.invalid/spdx/${plan.box.name}-${plan.board.name}-${plan.planHash}`,
    creationInfo: { created: new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), creators: [`Tool: nexus-imager-${NEXUS_VERSION}`] },
    packages: [
      {
        name: `${plan.box.name} image for ${plan.board.title}`,
        SPDXID: imageId,
        versionInfo: plan.planHash.slice(0, 12),
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        checksums: [{ algorithm: 'SHA256', checksumValue: imageSha256 }],
        primaryPackagePurpose: 'OPERATING-SYSTEM',
      },
      ...packages,
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageId },
      ...packages.map((p) => ({ spdxElementId: imageId, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
}
