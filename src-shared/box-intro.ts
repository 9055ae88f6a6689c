/**
 * How the wizard introduces each Box to someone who has never heard of EROFS or dm-verity: one plain headline and
 * what it is good for. The technical facts (tier, packages, budgets, filesystems) stay in the profiles and are shown
 * behind "Details". A Box without an entry here falls back to its own philosophy and users.
 */
export interface BoxIntro {
  headline: string;
  goodFor: string;
}

export const BOX_INTROS: Readonly<Record<string, BoxIntro>> = {
  tinybox: {
    headline: 'The smallest system that starts: a shell and basic tools, running from memory.',
    goodFor: 'rescue sticks, learning how Linux starts, tiny single-purpose devices',
  },
  cryptobox: {
    headline: 'A small system that cannot be tampered with, with an encrypted folder for your files.',
    goodFor: 'private travel machines, devices left unattended, VPN endpoints',
  },
  dragonbox: { headline: 'The locked-down system, ready to run containers.', goodFor: 'container hosts, homelab and Kubernetes nodes' },
  nexbox: { headline: 'A small workstation with compilers, git, an editor and Python.', goodFor: 'programming, build machines, students' },
  linbox: { headline: 'A full desktop with windows, a browser, sound and fonts.', goodFor: 'everyday computers, family PCs, kiosks' },
  openbox: {
    headline: 'OpenBSD, the security-focused system, installed from its official signed images.',
    goodFor: 'firewalls, routers, servers that must stay secure',
  },
};

export function boxIntro(box: { name: string; philosophy: string; users: readonly string[] }): BoxIntro {
  return BOX_INTROS[box.name] ?? { headline: box.philosophy, goodFor: box.users.join(', ') };
}
