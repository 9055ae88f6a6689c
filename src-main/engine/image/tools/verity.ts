/** dm-verity hash trees with veritysetup on plain files (no device-mapper needed at build time). */
import { runTool } from './run';

export interface VerityResult {
  rootHash: string;
  salt: string;
  uuid: string;
}

export async function verityFormat(data: string, hash: string, salt: string, uuid: string, signal?: AbortSignal): Promise<VerityResult> {
  const out = await runTool(
    'veritysetup',
    ['format', '--data-block-size=4096', '--hash-block-size=4096', '--hash=sha256', `--salt=${salt}`, `--uuid=${uuid}`, data, hash],
    'computing the dm-verity hash tree',
    { signal },
  );
  const m = /Root hash:\s*([0-9a-f]+)/.exec(out);
  if (!m) throw new Error(`veritysetup printed no root hash: ${out}`);
  return { rootHash: m[1]!, salt, uuid };
}
