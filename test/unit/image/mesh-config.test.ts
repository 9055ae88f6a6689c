/** The mesh settings: validated like every customization, written as wg0.conf, and how mesh-up brings wg0 up. */
import { describe, expect, it } from 'vitest';
import { CustomizationSchema, checkCidr } from '../../../src-shared/customization';
import { meshUpScript, wg0Conf } from '../../../src-main/engine/image/config/mesh';
import { parseMeshPeer } from '../../../src-main/cli/catalog-options';

const KEY = 'cKHVgYAxc37yQJPWOEjeUJ3PLMraTYUJP7hsqviHDnA=';

describe('mesh settings', () => {
  it('accept an address with prefix and peers with key, allowed IPs, endpoint and keepalive', () => {
    const c = CustomizationSchema.parse({
      mesh: {
        address: '10.77.0.2/24',
        peers: [{ publicKey: KEY, allowedIps: ['10.77.0.1/32', 'fd00::/64'], endpoint: 'peer.example.net:51820', persistentKeepalive: 25 }],
      },
    });
    expect(c.mesh).toEqual({
      address: '10.77.0.2/24',
      listenPort: 51820,
      peers: [{ publicKey: KEY, allowedIps: ['10.77.0.1/32', 'fd00::/64'], endpoint: 'peer.example.net:51820', persistentKeepalive: 25 }],
    });
    for (const endpoint of ['203.0.113.7:51820', '[2001:db8::7]:51820'])
      expect(
        CustomizationSchema.safeParse({ mesh: { address: '10.77.0.2/24', peers: [{ publicKey: KEY, allowedIps: ['0.0.0.0/0'], endpoint }] } }).success,
        endpoint,
      ).toBe(true);
  });

  it('refuse what wg or ip would refuse, with a message that says what is expected', () => {
    const bad = (mesh: unknown) => CustomizationSchema.safeParse({ mesh });
    expect(checkCidr('10.77.0.2')).toMatch(/ADDRESS\/PREFIX/);
    expect(checkCidr('10.77.0.300/24')).toMatch(/not an IPv4 or IPv6 address/);
    expect(checkCidr('10.77.0.2/33')).toMatch(/0-32/);
    expect(checkCidr('fd00::1/129')).toMatch(/0-128/);
    expect(checkCidr('fd00:::1/64')).toMatch(/not an IPv4 or IPv6/);
    expect(checkCidr('2001:db8::1/64')).toBeUndefined();
    expect(bad({ address: '10.77.0.2/24', peers: [{ publicKey: 'not-a-key', allowedIps: ['10.77.0.1/32'] }] }).error?.issues[0]?.message).toMatch(
      /44 base64 characters/,
    );
    expect(bad({ address: '10.77.0.2/24', peers: [{ publicKey: KEY, allowedIps: [] }] }).error?.issues[0]?.message).toMatch(/at least one allowed IP/);
    expect(
      bad({ address: '10.77.0.2/24', peers: [{ publicKey: KEY, allowedIps: ['10.77.0.1/32'], endpoint: 'peer.example.net' }] }).error?.issues[0]?.message,
    ).toMatch(/HOST:PORT/);
    expect(bad({ address: '10.77.0.2/24', peers: [{ publicKey: KEY, allowedIps: ['10.77.0.1/32'], endpoint: 'a b:1' }] }).success).toBe(false);
    expect(bad({ address: '10.77.0.2/24', peers: [{ publicKey: KEY, allowedIps: ['10.77.0.1/32\nPostUp = sh'] }] }).success).toBe(false);
    expect(bad({ address: '10.77.0.2/24', peers: [], privateKey: KEY }).success).toBe(false);
  });

  it('are written as wg-quick style wg0.conf without a private key', () => {
    const text = wg0Conf(
      CustomizationSchema.parse({
        mesh: {
          address: '10.77.0.2/24',
          peers: [{ publicKey: KEY, allowedIps: ['10.77.0.1/32', '10.88.0.0/16'], endpoint: '192.0.2.10:51820', persistentKeepalive: 25 }],
        },
      }).mesh!,
    );
    expect(text).toContain('[Interface]\nAddress = 10.77.0.2/24\nListenPort = 51820\n');
    expect(text).toContain(`[Peer]\nPublicKey = ${KEY}\nAllowedIPs = 10.77.0.1/32, 10.88.0.0/16\nEndpoint = 192.0.2.10:51820\nPersistentKeepalive = 25\n`);
    expect(text).not.toMatch(/PrivateKey *=/);
  });

  it('mesh-up makes the key on the device (root only), gives wg setconf no Address lines, prints the public key', () => {
    const s = meshUpScript('/var/lib/nexus/state/wireguard');
    expect(s).toContain('umask 077 && wg genkey > "$KEY.new"');
    expect(s).toContain("grep -iv '^[[:space:]]*Address[[:space:]]*='");
    expect(s).toContain('wg set wg0 private-key "$KEY"');
    expect(s).toMatch(/this device's public key: \$PUB/);
  });

  it('--mesh-peer takes key=value pairs and names what is wrong', () => {
    expect(parseMeshPeer(`key=${KEY} allowed-ips=10.77.0.1/32,10.88.0.0/16 endpoint=peer:51820 keepalive=25`)).toEqual({
      publicKey: KEY,
      allowedIps: ['10.77.0.1/32', '10.88.0.0/16'],
      endpoint: 'peer:51820',
      persistentKeepalive: 25,
    });
    expect(() => parseMeshPeer(`key=${KEY}`)).toThrow(/needs key= and allowed-ips=/);
    expect(() => parseMeshPeer(`key=${KEY} allowed-ips=10.0.0.1/32 port=1`)).toThrow(/unknown setting "port"/);
    expect(() => parseMeshPeer('key=')).toThrow(/has no value/);
  });
});

describe('mesh settings in a plan', () => {
  it('warn when the build has no mesh service to use them', async () => {
    const { loadCatalog } = await import('../../../src-main/engine/catalog/load');
    const { resolvePlan } = await import('../../../src-main/engine/plan/resolve');
    const catalog = await loadCatalog();
    const mesh = { address: '10.77.0.2/24', peers: [{ publicKey: KEY, allowedIps: ['10.77.0.1/32'] }] };
    const without = resolvePlan(catalog, { profile: 'cryptobox', target: 'qemu-x86_64', output: '/tmp/x.img', customization: { mesh } });
    expect(without.warnings.join('\n')).toMatch(/add the "mesh" fragment/);
    const withMesh = resolvePlan(catalog, { profile: 'cryptobox', target: 'qemu-x86_64', output: '/tmp/x.img', fragments: ['mesh'], customization: { mesh } });
    expect(withMesh.warnings.join('\n')).not.toMatch(/mesh/);
    expect(withMesh.services.find((s) => s.name === 'mesh')).toMatchObject({ command: '/usr/libexec/nexus/mesh-up', dependsOn: ['dhcpcd'] });
  });
});
