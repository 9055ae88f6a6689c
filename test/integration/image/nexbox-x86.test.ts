/**
 * nexbox for qemu-x86_64 (OVMF, TCG), doing its job in one boot and one login session (test/support/nexbox-session.ts):
 * built from the replica feed (base + dragonbox + nexbox packs: Alpine's metadata, Debian bookworm payloads, the
 * real apk-tools), the root grown to fill a larger medium, zsh, gcc, python3, git, apk audit, and `apk add` of
 * Alpine's own signed tini from a local repository over HTTP, which then runs.
 */
import { nexboxSuite } from '../../support/nexbox-session';

nexboxSuite('qemu-x86_64', { boot: true });
