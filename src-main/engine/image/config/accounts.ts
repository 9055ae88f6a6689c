/**
 * /etc/passwd, /etc/group and /etc/shadow as one merge of three sources, in this order of precedence:
 * 1. the accounts Nexus generates (root with the user's hash or locked, nobody, the Box's user, wheel, shadow);
 * 2. the files a package ships (alpine-baselayout-data's passwd/group/shadow with Alpine's system accounts);
 * 3. the users, groups and memberships the packages' install scripts create (`adduser -S`, `addgroup`,
 *    `useradd -r`…), created as busybox would on a fresh install: an existing name is left alone, a missing id is
 *    the lowest free one from 100 (system) or 1000, in install order, so the same packages always get the same ids.
 * Package accounts are locked ("!" in /etc/shadow): nobody logs into a daemon's account.
 */
import { isTuple } from '../../../../src-shared/narrow';
import type { ScriptEffect } from '../../feeds/scripts';

export interface AccountFiles {
  passwd: string;
  group: string;
  shadow: string;
}

interface Passwd {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}
interface Group {
  name: string;
  gid: number;
  members: string[];
}

const parsePasswd = (text: string): Passwd[] =>
  text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .flatMap((l) => {
      const f = l.split(':').slice(0, 7);
      if (!isTuple(f, 7)) return [];
      const [name, , uid, gid, gecos, home, shell] = f;
      return /^\d+$/.test(uid) && /^\d+$/.test(gid) ? [{ name, uid: Number(uid), gid: Number(gid), gecos, home, shell }] : [];
    });
const parseGroup = (text: string): Group[] =>
  text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .flatMap((l) => {
      const f = l.split(':').slice(0, 4);
      if (!isTuple(f, 4)) return [];
      const [name, , gid, members] = f;
      return /^\d+$/.test(gid) ? [{ name, gid: Number(gid), members: members.split(',').filter(Boolean) }] : [];
    });
const parseShadow = (text: string): Map<string, string> =>
  new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.includes(':') ? l.slice(0, l.indexOf(':')) : l, l]),
  );

export interface MergedAccounts extends AccountFiles {
  uids: Map<string, number>;
  gids: Map<string, number>;
  /** "user klogd (busybox)", "group klogd (busybox)", "klogd in video (greetd)": what the package effects added. */
  created: string[];
  /** Home directories to create: [path, uid, gid]. */
  homes: Array<{ path: string; uid: number; gid: number }>;
}

export type AccountEffect = Extract<ScriptEffect, { kind: 'user' | 'group' | 'group-member' }>;

export function mergeAccounts(generated: AccountFiles, shipped: Partial<AccountFiles>, effects: AccountEffect[], days: number): MergedAccounts {
  const users = new Map<string, Passwd>();
  const groups = new Map<string, Group>();
  for (const u of parsePasswd(shipped.passwd ?? '')) users.set(u.name, u);
  for (const g of parseGroup(shipped.group ?? '')) groups.set(g.name, g);
  const genUsers = parsePasswd(generated.passwd);
  for (const u of genUsers) users.set(u.name, u);
  for (const g of parseGroup(generated.group)) {
    const prev = groups.get(g.name);
    groups.set(g.name, { ...g, members: [...new Set([...(prev?.members ?? []), ...g.members])] });
  }
  const shadow = parseShadow(shipped.shadow ?? '');
  for (const [name, line] of parseShadow(generated.shadow)) shadow.set(name, line);

  const created: string[] = [];
  const homes: MergedAccounts['homes'] = [];
  const freeId = (used: Set<number>, system: boolean) => {
    for (let id = system ? 100 : 1000; id < (system ? 1000 : 60000); id++) if (!used.has(id)) return id;
    throw new Error('no free id');
  };
  const usedUids = () => new Set([...users.values()].map((u) => u.uid));
  const usedGids = () => new Set([...groups.values()].map((g) => g.gid));
  const addGroup = (name: string, system: boolean, pkg: string, gid?: number): Group => {
    const existing = groups.get(name);
    if (existing) return existing;
    const g: Group = { name, gid: gid !== undefined && !usedGids().has(gid) ? gid : freeId(usedGids(), system), members: [] };
    groups.set(name, g);
    created.push(`group ${name} (${pkg})`);
    return g;
  };
  // Groups first within each package's effects would differ from the scripts' order only when a script adds a user
  // to a group it creates later, which fails on a real system too; keep the scripts' order.
  for (const e of effects) {
    if (e.kind === 'group') addGroup(e.name, e.system, e.package, e.gid);
    else if (e.kind === 'user') {
      if (users.has(e.name)) continue;
      // As busybox adduser does (loginutils/adduser.c): a system account without -G joins "nogroup" and gets
      // /bin/false; another gets a group of its own name (gid = uid when free). Home defaults to /home/NAME.
      const uid = e.uid !== undefined && !usedUids().has(e.uid) ? e.uid : freeId(usedUids(), e.system);
      const group = e.group
        ? (groups.get(e.group) ?? addGroup(e.group, e.system, e.package))
        : e.system
          ? (groups.get('nogroup') ?? addGroup('nogroup', true, e.package, 65533))
          : addGroup(e.name, false, e.package, uid);
      const home = e.home ?? `/home/${e.name}`;
      users.set(e.name, {
        name: e.name,
        uid,
        gid: group.gid,
        gecos: e.gecos ?? 'Linux User,,,',
        home,
        shell: e.shell ?? (e.system ? '/bin/false' : '/bin/sh'),
      });
      created.push(`user ${e.name} (${e.package})`);
      if (e.createHome && home.startsWith('/') && home !== '/' && home !== '/dev/null' && !home.startsWith('/dev/'))
        homes.push({ path: home, uid, gid: group.gid });
    } else {
      const g = groups.get(e.group);
      if (!g || g.members.includes(e.user)) continue;
      g.members.push(e.user);
      created.push(`${e.user} in ${e.group} (${e.package})`);
    }
  }

  // Generated accounts first (root on the first line, as every tool expects), then the shipped and created ones.
  const order = <T extends { name: string }>(all: Map<string, T>, first: string[]) => [
    ...first.flatMap((n) => all.get(n) ?? []),
    ...[...all.values()].filter((x) => !first.includes(x.name)),
  ];
  const genNames = genUsers.map((u) => u.name);
  const shippedNames = parsePasswd(shipped.passwd ?? '').map((u) => u.name);
  const userOrder = order(users, [...new Set([...genNames.slice(0, 1), ...shippedNames, ...genNames])]);
  const groupOrder = order(groups, [
    ...new Set([
      ...parseGroup(generated.group)
        .slice(0, 1)
        .map((g) => g.name),
      ...parseGroup(shipped.group ?? '').map((g) => g.name),
    ]),
  ]);
  return {
    passwd: userOrder.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}`).join('\n') + '\n',
    group: groupOrder.map((g) => `${g.name}:x:${g.gid}:${g.members.join(',')}`).join('\n') + '\n',
    // A user without a shadow line gets a locked password.
    shadow: userOrder.map((u) => shadow.get(u.name) ?? `${u.name}:!:${days}:0:::::`).join('\n') + '\n',
    uids: new Map([...users.values()].map((u) => [u.name, u.uid])),
    gids: new Map([...groups.values()].map((g) => [g.name, g.gid])),
    created,
    homes,
  };
}
