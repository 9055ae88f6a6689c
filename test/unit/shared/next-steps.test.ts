/** Next steps after a build name the real user, host name and files; the boards' texts say how to find the Box. */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../../src-main/engine/catalog/load';
import { boardGuide, fillNextSteps } from '../../../src-shared/board-guide';

describe('next steps', () => {
  it('fill in the image, the user and the host name (root when there is no user); an unknown build keeps the words', () => {
    const steps = ['Run it: nexus vm IMAGE', 'Log in as USER on the console.', 'ssh USER@ADDRESS (the Box calls itself HOSTNAME)'];
    expect(fillNextSteps(steps, { image: '/out/box.img', user: 'ada', hostname: 'kiosk' })).toEqual([
      'Run it: nexus vm /out/box.img',
      'Log in as ada on the console.',
      'ssh ada@ADDRESS (the Box calls itself kiosk)',
    ]);
    expect(fillNextSteps(steps, { image: null, user: null, hostname: 'nexus' })[2]).toBe('ssh root@ADDRESS (the Box calls itself nexus)');
    expect(fillNextSteps(steps, { image: null })).toEqual(steps);
  });

  it('the hardware boards say how to log in and how to find the address on the LAN (no .local name: the Boxes run no mDNS)', async () => {
    const catalog = await loadCatalog();
    for (const name of ['pc', 'rpi5', 'visionfive2']) {
      const steps = fillNextSteps(boardGuide(catalog.boards.get(name), false).nextSteps, { image: 'x.img', user: 'ada', hostname: 'kiosk' }).join('\n');
      expect(steps, name).toMatch(/Log in as ada /);
      expect(steps, name).toMatch(/ssh ada@ADDRESS/);
      expect(steps, name).toMatch(/router|ip neigh/);
      expect(steps, name).not.toMatch(/\.local\b(?! \(no mDNS)/);
      expect(steps, name).not.toMatch(/\bUSER\b|\bHOSTNAME\b/);
    }
  });
});
