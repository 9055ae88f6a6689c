/** A NexusApi for renderer tests: scripted responses per command, events pushed by the test. */
import { COMMAND_NAMES, EVENT_NAMES, type CatalogView, type CommandName, type EventName, type NexusApi, type Response } from '../../../src-shared/contract';
import type { Drive } from '../../../src-shared/drives';

export type Script = Partial<Record<CommandName, (req: unknown) => unknown | Promise<unknown>>>;

export interface FakeApi {
  api: NexusApi;
  calls: Array<{ name: CommandName; request: unknown }>;
  emit(name: EventName, payload: unknown): void;
  listeners(name: EventName): number;
}

export function fakeApi(script: Script = {}): FakeApi {
  const calls: FakeApi['calls'] = [];
  const subs = new Map<string, Set<(p: unknown) => void>>();
  const api: Record<string, unknown> = {};
  for (const name of COMMAND_NAMES) {
    api[name] = async (request: unknown): Promise<Response<unknown>> => {
      calls.push({ name, request });
      const fn = script[name];
      if (!fn) return { ok: false, error: { code: 'NOT_SCRIPTED', message: `${name} not scripted` } };
      try {
        return { ok: true, value: await fn(request) };
      } catch (e) {
        return { ok: false, error: e as { code: string; message: string; hint?: string } };
      }
    };
  }
  for (const name of EVENT_NAMES) {
    api[name] = (l: (p: unknown) => void) => {
      if (!subs.has(name)) subs.set(name, new Set());
      subs.get(name)!.add(l);
      return () => subs.get(name)!.delete(l);
    };
  }
  return {
    api: api as unknown as NexusApi,
    calls,
    emit: (name, payload) => subs.get(name)?.forEach((l) => l(payload)),
    listeners: (name) => subs.get(name)?.size ?? 0,
  };
}

const box = (name: string, tier: string, architectures: string[]) => ({
  name,
  tier,
  nickname: `${name} nick`,
  philosophy: 'p',
  description: `${name} description`,
  users: ['u'],
  recipe: name === 'openbox' ? 'official-image' : 'compose',
  architectures,
  packages: ['toybox', 'dinit'],
  budgets: { packages: { max: 4 }, sizeMiB: { min: 8, max: 12 } },
  defaultFragments: [],
  notes: [],
});
const openbsd = (notes: string, nextSteps: string[]) => ({ supported: true, notes, nextSteps });
const board = (
  name: string,
  title: string,
  arch: string,
  kind: 'vm' | 'hardware',
  notes: string[] = [],
  nextSteps: string[] = [],
  obsd: ReturnType<typeof openbsd> | null = null,
) => ({
  name,
  title,
  arch,
  kind,
  console: 'ttyS0',
  illustrationSvg: null,
  notes,
  nextSteps,
  openbsd: obsd,
});

export const CATALOG = {
  boxes: [
    box('tinybox', 'STC-1', ['x86_64', 'arm64', 'riscv64']),
    box('cryptobox', 'STC-2', ['x86_64', 'arm64']),
    box('dragonbox', 'STC-3', ['x86_64']),
    box('nexbox', 'STC-4', ['x86_64']),
    box('linbox', 'STC-5', ['x86_64']),
    box('openbox', 'BSD', ['x86_64', 'arm64']),
  ],
  boards: [
    board('qemu-x86_64', 'QEMU x86_64', 'x86_64', 'vm'),
    board('pc', 'PC', 'x86_64', 'hardware'),
    board('qemu-arm64', 'QEMU arm64', 'arm64', 'vm'),
    board(
      'rpi5',
      'Raspberry Pi 5',
      'arm64',
      'hardware',
      ['Linux note for the Pi'],
      ['Insert the card', 'Power on'],
      openbsd('OpenBSD runs on the Pi 5 since 7.8', ['Share the install answers', 'Type A at the installer']),
    ),
    board('qemu-riscv64', 'QEMU riscv64', 'riscv64', 'vm'),
    board('visionfive2', 'VisionFive 2', 'riscv64', 'hardware', ['Boot-mode switches: RGPIO_0=1'], ['Set the switches']),
  ],
  fragments: [
    { name: 'ssh', description: 'OpenSSH server', requires: [] },
    { name: 'wifi', description: 'Wi-Fi', requires: [] },
  ],
  feed: { name: 'alpine', branch: 'v3.24', branches: ['v3.24', 'v3.23', 'edge'] },
} as CatalogView;

export function drive(device: string, size: number | null, over: Partial<Drive> = {}): Drive {
  return {
    device,
    raw: device,
    description: `disk ${device}`,
    size,
    blockSize: 512,
    logicalBlockSize: 512,
    bus: 'USB',
    removable: true,
    usb: true,
    card: false,
    system: false,
    readOnly: false,
    virtual: false,
    mountpoints: [],
    source: 'drivelist',
    ...over,
  };
}
