/**
 * dragonbox for qemu-riscv64 (OpenSBI, U-Boot, TCG), the same job as on x86_64 and arm64 in one boot: the replica
 * pack's Debian trixie riscv64 containerd, runc and CNI plugins under dinit, with the container modules (bridge,
 * veth, overlay, nf_tables, ...) from the Debian riscv64 kernel the feed's linux-lts carries, and an OCI image run
 * with `ctr run --cni` on the bridge network (test/support/dragonbox-session.ts). Alpine has no signed riscv64
 * .apk in our corpus, so the image's busybox 1.36.1-r29 and musl 1.2.5-r0 are the real files from Alpine's official
 * riscv64 minirootfs 3.20.3 (sha512 and apk's per-file checksums checked, test/support/oci-layout.ts).
 */
import { dragonboxSuite } from '../../support/dragonbox-session';

dragonboxSuite('qemu-riscv64', 'riscv64');
