/**
 * nexbox for qemu-riscv64 (OpenSBI, U-Boot, TCG), the same job as on x86_64 and arm64 in one boot
 * (test/support/nexbox-session.ts): the replica pack's Debian trixie riscv64 gcc 14, python 3.13, git and zsh, the
 * real apk-tools cross-compiled for riscv64, every ELF file in the root a riscv64 one, and `apk add` of Alpine's
 * own signed noarch lua5.4-microlight from a local repository over HTTP. The boot is cheap (about 50 s for boot
 * and session here), so it is booted rather than only built.
 */
import { nexboxSuite } from '../../support/nexbox-session';

nexboxSuite('qemu-riscv64', { boot: true });
