/** Architectures as the user names them, and their names in each upstream's vocabulary. */
import { z } from 'zod';

export const Arch = z.enum(['x86_64', 'arm64', 'riscv64']);
export type Arch = z.infer<typeof Arch>;
export const ARCHES: readonly Arch[] = Arch.options;

/** Alpine's APK architecture names. */
export const ALPINE_ARCH: Record<Arch, string> = { x86_64: 'x86_64', arm64: 'aarch64', riscv64: 'riscv64' };
/** OpenBSD's platform names. */
export const OPENBSD_ARCH: Record<Arch, string> = { x86_64: 'amd64', arm64: 'arm64', riscv64: 'riscv64' };

/** Accepts common aliases (aarch64, amd64, x64) so users need not know each vocabulary. */
export function normalizeArch(input: string): Arch | undefined {
  const s = input.trim().toLowerCase();
  const alias: Record<string, Arch> = {
    x86_64: 'x86_64',
    amd64: 'x86_64',
    x64: 'x86_64',
    arm64: 'arm64',
    aarch64: 'arm64',
    riscv64: 'riscv64',
    rv64: 'riscv64',
  };
  return alias[s];
}
