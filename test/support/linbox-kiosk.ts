/**
 * The CI-sized linbox the VM tests build (linbox-x86.test.ts, linbox-boards.test.ts): the catalog's linbox with the
 * kiosk fragment, its package list replaced in the loaded catalog by cryptobox's packages plus the kiosk session's
 * (the full closure — Plasma, Firefox, niri, 500+ packages — is too large for CI). containerd's service
 * (dragonbox's; its package is not installed) is dropped and the login shell is busybox sh (nexbox's zsh is not
 * installed). Everything else is linbox's: the ext4 root, the services (seatd -g seat, user-runtime-dir, greetd),
 * virtio_gpu, the files.
 */
import type { BuildPlan } from '../../src-shared/plan';
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
