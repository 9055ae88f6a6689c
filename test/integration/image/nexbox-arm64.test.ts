/**
 * nexbox for qemu-arm64 (AAVMF, TCG), the same job as on x86_64 in one boot (test/support/nexbox-session.ts): the
 * replica pack's Debian trixie arm64 gcc 14, python 3.13, git and zsh, the real apk-tools cross-compiled for
 * aarch64, every ELF file in the root an aarch64 one, and `apk add` of Alpine's own signed noarch
 * lua5.4-microlight from a local repository over HTTP.
 */
import { nexboxSuite } from '../../support/nexbox-session';

nexboxSuite('qemu-arm64', { boot: true });
