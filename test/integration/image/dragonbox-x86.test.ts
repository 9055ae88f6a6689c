/**
 * dragonbox for qemu-x86_64, doing its job in one boot: containerd, runc and the CNI plugins (the dragonbox replica
 * pack: Alpine v3.24's metadata and paths, Debian's binaries) start under dinit; after a console login the test
 * imports an OCI image it built itself (Alpine's real busybox and musl, test/support/oci-layout.ts) with ctr, runs
 * it with `ctr run --cni` on the Box's bridge network, and checks what the container printed: an eth0 address from
 * the bridge's 10.88.0.0/16 and a ping answered by the host side of the bridge (10.88.0.1). The host side shows the
 * bridge, the masquerade rule the bridge plugin installed through Alpine's (nft-backed) iptables, and containerd's
 * root on the state partition (test/support/dragonbox-session.ts).
 */
import { dragonboxSuite } from '../../support/dragonbox-session';

dragonboxSuite('qemu-x86_64', 'x86_64');
