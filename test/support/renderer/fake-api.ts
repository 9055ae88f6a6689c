/** A NexusApi for renderer tests, made by the shared createApi(): scripted responses per command, events pushed by the test. */
import { type CatalogView, type CommandName, type EventName, type NexusApi, type Response } from '../../../src-shared/contract';
import { createApi } from '../../../src-shared/create-api';
import type { Drive } from '../../../src-shared/drives';
import type { ErrorInfo } from '../../../src-shared/contract';

export type Script = Partial<Record<CommandName, (req: unknown) => unknown | Promise<unknown>>>;

export interface FakeApi {
  api: NexusApi;
  calls: Array<{ name: CommandName; request: unknown }>;
  emit(name: EventName, payload: unknown): void;
  /** Streams open to the main side for this event (createApi opens one however many listeners the stores add). */
  listeners(name: EventName): number;
}

const isErrorInfo = (e: unknown): e is ErrorInfo => typeof e === 'object' && e !== null && 'code' in e && 'message' in e;

export function fakeApi(script: Script = {}): FakeApi {
  const calls: FakeApi['calls'] = [];
  const streams = new Map<EventName, (payload: unknown) => void>();
  const api = createApi({
    invoke: async (name, request): Promise<Response<unknown>> => {
      calls.push({ name, request });
      const fn = script[name];
      if (!fn) return { ok: false, error: { code: 'NOT_SCRIPTED', message: `${name} not scripted` } };
      try {
        return { ok: true, value: await fn(request) };
      } catch (e) {
        return { ok: false, error: isErrorInfo(e) ? e : { code: 'INTERNAL', message: String(e) } };
      }
    },
    subscribe: (name, deliver) => {
      streams.set(name, deliver);
      return () => streams.delete(name);
    },
  });
  return {
    api,
    calls,
    emit: (name, payload) => streams.get(name)?.(payload),
    listeners: (name) => (streams.has(name) ? 1 : 0),
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
