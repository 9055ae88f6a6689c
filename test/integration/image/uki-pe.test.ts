/**
 * The in-process UKI writer (uki.ts, uki-pe.ts) against objcopy's: with the systemd EFI stub the test feed ships
 * (Debian's linuxx64.efi.stub, a real PE32+ with a COFF symbol table), the image is byte-identical to what the
 * objcopy command line made (timestamps pinned to the same epoch), objdump reads the same sections, and each
 * section holds exactly the bytes given. A kernel too large for its slot moves the initrd up instead of overlapping;
 * a stub without room for the headers, or a signed one, gets a clear error.
 */
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whichTool } from '../../../src-main/engine/host-tools';
import { makeUki } from '../../../src-main/engine/image/tools/uki';
import { buildUki, type UkiParts } from '../../../src-main/engine/image/uki';
import { peChecksum, readPeSections } from '../../../src-main/engine/image/uki-pe';

const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
const have = existsSync(STUB) && !!(await whichTool('objcopy'));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-uki-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function parts(kernelBytes: number, initrdBytes: number): Promise<UkiParts> {
  return {
    stub: await readFile(STUB),
    osRelease: 'NAME="Nexus"\nID=nexus\nPRETTY_NAME="Nexus tinybox"\n',
    cmdline: 'console=ttyS0 root=PARTLABEL=root ro quiet',
    kernel: randomBytes(kernelBytes),
    initrd: randomBytes(initrdBytes),
    epoch: 1_700_000_000,
  };
}

/** objdump -h: name, size, VMA and file offset of each section. */
async function objdumpSections(path: string): Promise<string[]> {
  const out = (await execa('objdump', ['-h', path])).stdout;
  return [...out.matchAll(/^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
}

describe.skipIf(!have)('unified kernel image written in-process', () => {
  it('is byte-identical to objcopy --add-section output, with the same sections and their exact bytes', async () => {
    const p = await parts(9_437_185, 3_000_001); // odd sizes: file alignment padding on every section
    const ours = buildUki(p);
    await writeFile(join(dir, 'ours.efi'), ours);
    await makeUki(join(dir, 'objcopy.efi'), p, dir);
    const theirs = await readFile(join(dir, 'objcopy.efi'));
    expect(ours.length).toBe(theirs.length);
    expect(ours.equals(theirs), "the in-process UKI differs from objcopy's").toBe(true);
    const listed = await objdumpSections(join(dir, 'ours.efi'));
    expect(listed).toEqual(await objdumpSections(join(dir, 'objcopy.efi')));
    expect(listed.map((l) => l.split(' ')[0])).toEqual([
      '.text',
      '.reloc',
      '.data',
      '.dynamic',
      '.rela',
      '.dynsym',
      '.sbat',
      '.sdmagic',
      '.osrel',
      '.cmdline',
      '.linux',
      '.initrd',
    ]);
    const s = readPeSections(ours);
    expect(s.get('.linux')!.data.equals(Buffer.from(p.kernel))).toBe(true);
    expect(s.get('.initrd')!.data.equals(Buffer.from(p.initrd))).toBe(true);
    expect(s.get('.cmdline')!.data.toString()).toBe(p.cmdline);
    expect(s.get('.osrel')!.data.toString()).toBe(p.osRelease);
    expect(s.get('.linux')!.va).toBe(0x2000000);
    const pe = ours.readUInt32LE(0x3c);
    expect(ours.readUInt32LE(pe + 8)).toBe(p.epoch);
    expect(ours.readUInt32LE(pe + 24 + 64)).toBe(peChecksum(ours, pe + 24 + 64));
    // The stub's own code and symbol table survive: objdump still finds its symbols.
    expect((await execa('objdump', ['-t', join(dir, 'ours.efi')])).stdout).toMatch(/efi_main/);
  }, 60_000);

  it('a kernel larger than its 16 MiB slot pushes the initrd up instead of overlapping it', async () => {
    const p = await parts(17 * 1048576 + 3, 1000);
    const out = buildUki(p);
    const s = readPeSections(out);
    const linux = s.get('.linux')!,
      initrd = s.get('.initrd')!;
    expect(initrd.va).toBeGreaterThanOrEqual(linux.va + linux.data.length);
    expect(initrd.data.equals(Buffer.from(p.initrd))).toBe(true);
    await writeFile(join(dir, 'big.efi'), out);
    expect((await execa('objdump', ['-h', join(dir, 'big.efi')])).stdout).toMatch(/\.initrd/);
  }, 60_000);

  it('optional .uname and .dtb sections are added when given', async () => {
    const p = { ...(await parts(4096, 4096)), uname: '6.12.9-0-lts', dtb: randomBytes(777) };
    const s = readPeSections(buildUki(p));
    expect(s.get('.uname')!.data.toString()).toBe('6.12.9-0-lts');
    expect(s.get('.dtb')!.data.equals(Buffer.from(p.dtb))).toBe(true);
    expect(s.get('.dtb')!.va).toBeGreaterThan(s.get('.uname')!.va);
  });

  it('refuses a signed stub and one without room for the section headers, saying why', async () => {
    const p = await parts(4096, 4096);
    const stub = Buffer.from(p.stub);
    const pe = stub.readUInt32LE(0x3c);
    const signed = Buffer.from(stub);
    signed.writeUInt32LE(0x100, pe + 24 + 112 + 32 + 4); // a security directory (Authenticode) entry
    expect(() => buildUki({ ...p, stub: signed })).toThrow(/signed/);
    const cramped = Buffer.from(stub);
    cramped.writeUInt16LE(8 + 20, pe + 6); // claims 28 sections: the header area is full
    expect(() => buildUki({ ...p, stub: cramped })).toThrow(/no room for 4 more section headers/);
    expect(() => buildUki({ ...p, stub: Buffer.from('not a PE file at all, just text........................................') })).toThrow(/not a PE file/);
  });
});
