/**
 * The CI-sized linbox the VM tests build (linbox-x86.test.ts, linbox-boards.test.ts): the catalog's linbox with the
 * kiosk fragment, its package list replaced in the loaded catalog by cryptobox's packages plus the kiosk session's
 * (the full closure — Plasma, Firefox, niri, 500+ packages — is too large for CI). containerd's service
 * (dragonbox's; its package is not installed) is dropped and the login shell is busybox sh (nexbox's zsh is not
 * installed). Everything else is linbox's: the ext4 root, the services (seatd -g seat, user-runtime-dir, greetd),
 * virtio_gpu, the files.
 */
import { expect } from 'vitest';
import type { BuildPlan } from '../../src-shared/plan';
import type { ConsoleCommandResult } from '../../src-main/engine/vm/console-session';
import type { CustomizationInput } from '../../src-shared/customization';
import { loadCatalog } from '../../src-main/engine/catalog/load';
import { resolvePlan } from '../../src-main/engine/plan/resolve';

/**
 * The session's packages: greetd, seatd, cage, foot, font-dejavu, and the three packages whose install triggers
 * make the caches first boot must build (fontconfig, glib + gsettings-desktop-schemas, shared-mime-info).
 */
export const KIOSK_SESSION_PACKAGES = ['greetd', 'seatd', 'cage', 'foot', 'font-dejavu', 'fontconfig', 'glib', 'gsettings-desktop-schemas', 'shared-mime-info'];
/**
 * foot's default colours, as the foot.ini it ships documents them in its [colors] section (`# background=242424`):
 * the background fills the frame around the text, the foreground draws the text. They differ between foot releases
 * (1.13: 111111 / dcdccc; 1.21: 242424 / ffffff), so a test reads them from the image's own foot.ini.
 */
export function footDefaultColours(footIni: string): { background: string; foreground: string } {
  const colors = /^\[colors\]\n([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(footIni)?.[1] ?? '';
  const pick = (key: string) => {
    const hex = new RegExp(`^#\\s*${key}=([0-9a-fA-F]{6})\\b`, 'm').exec(colors)?.[1];
    if (!hex) throw new Error(`foot.ini documents no default ${key} in its [colors] section`);
    return `#${hex.toLowerCase()}`;
  };
  return { background: pick('background'), foreground: pick('foreground') };
}

/** The plan of the CI-sized linbox (see the header) with the kiosk fragment for `target`. */
export async function ciLinboxPlan(target: string, output: string, customization: CustomizationInput): Promise<BuildPlan> {
  const catalog = await loadCatalog();
  const linbox = catalog.boxes.get('linbox');
  const cryptobox = catalog.boxes.get('cryptobox');
  if (!linbox || !cryptobox) throw new Error('the catalog has no linbox or cryptobox');
  const { loginShell: _zsh, ...rest } = linbox;
  catalog.boxes.set('linbox', {
    ...rest,
    packages: [...cryptobox.packages, ...KIOSK_SESSION_PACKAGES],
    services: linbox.services.filter((s) => s.name !== 'containerd'),
  });
  return resolvePlan(catalog, { profile: 'linbox', target, fragments: ['kiosk'], output, customization });
}

/** The kiosk user's uid (the Box's first login user). */
export const KIOSK_UID = 1000;

/** Console commands the kiosk VM tests run as root after the boot marker. */
export const KIOSK_COMMANDS = {
  /**
   * Waits (up to 5 min: first boot builds the caches and the vault) for foot and the Wayland socket, then lists the
   * session's processes and prints NEXUS-SESSION-42.
   */
  session: `for i in $(seq 300); do pidof foot >/dev/null && [ -S /run/user/${KIOSK_UID}/wayland-0 ] && break; sleep 1; done; sleep 8; ps -o user,comm | grep -E ' (cage|foot|greetd|seatd)$'; echo NEXUS-SESSION-$((6*7))`,
  /** The first-boot finalizer's record and log. */
  finalize: 'cat /var/lib/nexus/first-boot.done; cat /var/log/nexus-first-boot.log',
  /** The caches the packages' triggers build: fontconfig's, GSettings' compiled schemas, the MIME database. */
  caches:
    'ls /var/cache/fontconfig | grep -c cache; ls -l /usr/share/glib-2.0/schemas/gschemas.compiled /usr/share/mime/mime.cache; fc-list : family | sort -u',
};

/** Checks the outputs of KIOSK_COMMANDS.finalize and .caches: every trigger ran on first boot and built its cache. */
export function expectFirstBootCaches(finalize: ConsoleCommandResult, caches: ConsoleCommandResult): void {
  expect(finalize.output).toMatch(/^failed:\s*$/m);
  for (const t of ['fontconfig', 'glib', 'shared-mime-info']) expect(finalize.output).toMatch(new RegExp(`nexus-first-boot: ${t}-\\S+ trigger$`, 'm'));
  expect(caches.status).toBe(0);
  expect(Number(caches.output.split('\n')[0])).toBeGreaterThan(0);
  expect(caches.output).toMatch(/\/usr\/share\/glib-2\.0\/schemas\/gschemas\.compiled$/m);
  expect(caches.output).toMatch(/\/usr\/share\/mime\/mime\.cache$/m);
  expect(caches.output).toMatch(/DejaVu Sans Mono/);
}
