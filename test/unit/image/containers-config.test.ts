/**
 * The container glue the configure stage adds: /opt/cni/bin (where ctr and nerdctl look for CNI plugins) linked to
 * Alpine's /usr/libexec/cni, only when cni-plugins put its plugins there and nothing already owns /opt/cni/bin;
 * and the cgroup2 mount both inits make (runc and containerd need the unified hierarchy).
 */
import { describe, expect, it } from 'vitest';
import { CNI_DEFAULT_BIN_DIR, CNI_PLUGIN_DIR, containerEntries } from '../../../src-main/engine/image/config/containers';
import { ramInit, rootInit } from '../../../src-main/engine/image/config/scripts';

describe('container glue', () => {
  const has =
    (...paths: string[]) =>
    (p: string) =>
      paths.includes(p);

  it("links /opt/cni/bin to Alpine's plugin directory when cni-plugins is installed", () => {
    const out = containerEntries(new Set(['cni-plugins', 'containerd']), has(CNI_PLUGIN_DIR));
    expect(out.map((e) => [e.path, e.type, e.linkTarget])).toEqual([
      ['/opt', 'dir', undefined],
      ['/opt/cni', 'dir', undefined],
      [CNI_DEFAULT_BIN_DIR, 'symlink', '/usr/libexec/cni'],
    ]);
  });

  it('adds nothing without cni-plugins, without its directory, or when /opt/cni/bin already exists', () => {
    expect(containerEntries(new Set(['busybox']), has(CNI_PLUGIN_DIR))).toEqual([]);
    expect(containerEntries(new Set(['cni-plugins']), has())).toEqual([]);
    expect(containerEntries(new Set(['cni-plugins']), has(CNI_PLUGIN_DIR, CNI_DEFAULT_BIN_DIR))).toEqual([]);
  });

  it('both inits mount cgroup2 on /sys/fs/cgroup before starting dinit', () => {
    for (const script of [ramInit('/usr/sbin/dinit'), rootInit('/usr/sbin/dinit')]) {
      const lines = script.split('\n');
      const mount = lines.findIndex((l) => l.startsWith('mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup'));
      expect(mount).toBeGreaterThan(-1);
      expect(mount).toBeLessThan(lines.findIndex((l) => l.startsWith('exec /usr/sbin/dinit')));
    }
  });
});
