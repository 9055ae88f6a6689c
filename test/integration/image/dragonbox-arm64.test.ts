/**
 * dragonbox for qemu-arm64 (AAVMF, TCG), the same job as on x86_64 in one boot: the replica pack's Debian trixie
 * arm64 containerd, runc and CNI plugins under dinit, and an OCI image of Alpine's signed aarch64 busybox + musl run
 * with `ctr run --cni` on the bridge network (test/support/dragonbox-session.ts).
 */
import { dragonboxSuite } from '../../support/dragonbox-session';

dragonboxSuite('qemu-arm64', 'aarch64');
