/**
 * nexbox for qemu-riscv64, built and checked without a boot (CI time; test/support/nexbox-session.ts): Alpine's
 * closure, a clean ext4 root whose every ELF file is a riscv64 one (Debian trixie riscv64 payloads, the real
 * apk-tools cross-compiled for riscv64), and a warm rebuild from the stage caches.
 */
import { nexboxSuite } from '../../support/nexbox-session';

nexboxSuite('qemu-riscv64', { boot: false });
