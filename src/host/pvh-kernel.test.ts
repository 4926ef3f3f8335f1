import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { checkPvhInitrdWithTpm, hasPvhEntry, type ReadAt } from './pvh-kernel.js';

/** An ELF64 file whose one PT_NOTE segment holds the given notes (owner, type). */
function elf64(notes: Array<[string, number]>): Buffer {
  const noteBufs = notes.map(([owner, type]) => {
    const name = Buffer.alloc((owner.length + 1 + 3) & ~3);
    name.write(owner, 'latin1');
    const head = Buffer.alloc(12);
    head.writeUInt32LE(owner.length + 1, 0);
    head.writeUInt32LE(8, 4);
    head.writeUInt32LE(type, 8);
    return Buffer.concat([head, name, Buffer.alloc(8, 0xaa)]);
  });
  const noteSeg = Buffer.concat(noteBufs);
  const header = Buffer.alloc(64);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // ELFCLASS64
  header[5] = 1; // little-endian
  header.writeBigUInt64LE(64n, 32); // e_phoff
  header.writeUInt16LE(56, 54); // e_phentsize
  header.writeUInt16LE(2, 56); // e_phnum
  const load = Buffer.alloc(56);
  load.writeUInt32LE(1, 0); // PT_LOAD
  const note = Buffer.alloc(56);
  note.writeUInt32LE(4, 0); // PT_NOTE
  note.writeBigUInt64LE(BigInt(64 + 2 * 56 + 100), 8);
  note.writeBigUInt64LE(BigInt(noteSeg.length), 32);
  return Buffer.concat([header, load, note, Buffer.alloc(100), noteSeg]);
}

const reader =
  (file: Buffer): ReadAt =>
  (offset, length) =>
    file.subarray(offset, offset + length);

const domain = (os: string, devices: string): string =>
  `<domain type='kvm'><name>p</name><uuid>2c9a8a4e-5a0b-4c55-8f55-0d8b7b7a1f10</uuid><memory unit='MiB'>128</memory>
<os><type arch='x86_64' machine='q35'>hvm</type>${os}</os><devices>${devices}</devices></domain>`;
const kernelOs = '<kernel>/k/vmlinux</kernel><initrd>/k/initrd.img</initrd><cmdline>console=ttyS0</cmdline>';
const tpm = "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>";

describe('hasPvhEntry()', () => {
  it('finds the Xen PHYS32_ENTRY note among others', () => {
    assert.equal(
      hasPvhEntry(
        reader(
          elf64([
            ['GNU', 3],
            ['Xen', 18],
          ]),
        ),
      ),
      true,
    );
  });

  it('is false for an ELF without it, a note 18 of another owner, a bzImage and an unreadable file', () => {
    assert.equal(
      hasPvhEntry(
        reader(
          elf64([
            ['GNU', 3],
            ['Xen', 17],
          ]),
        ),
      ),
      false,
    );
    assert.equal(hasPvhEntry(reader(elf64([['Linux', 18]]))), false);
    const bzImage = Buffer.alloc(1024);
    bzImage.write('HdrS', 0x202, 'latin1');
    assert.equal(hasPvhEntry(reader(bzImage)), false);
    assert.equal(hasPvhEntry(reader(Buffer.alloc(0))), false);
    assert.equal(hasPvhEntry(reader(elf64([['Xen', 18]]).subarray(0, 120))), false, 'a truncated file');
  });
});

describe('checkPvhInitrdWithTpm()', () => {
  const pvh = (): ReadAt => reader(elf64([['Xen', 18]]));

  it('refuses a PVH kernel with an initrd and a TPM under SeaBIOS, naming the kernel, the TPM and what to do', () => {
    const def = parseDomainXml(domain(kernelOs, tpm));
    assert.throws(
      () => checkPvhInitrdWithTpm(def, pvh),
      (err: unknown) =>
        err instanceof FerryError &&
        err.code === 'XML_UNSUPPORTED' &&
        /<kernel> '\/k\/vmlinux' is an ELF kernel .* <tpm model='tpm-crb'>/.test(err.message) &&
        /bzImage/.test(err.hint),
    );
  });

  it('starts it without the TPM, without the initrd, with UEFI, or with a bzImage', () => {
    checkPvhInitrdWithTpm(parseDomainXml(domain(kernelOs, '')), pvh);
    checkPvhInitrdWithTpm(parseDomainXml(domain('<kernel>/k/vmlinux</kernel>', tpm)), pvh);
    checkPvhInitrdWithTpm(parseDomainXml(domain(kernelOs, tpm).replace('<os>', "<os firmware='efi'>")), pvh);
    checkPvhInitrdWithTpm(parseDomainXml(domain(kernelOs, tpm)), () => reader(elf64([['GNU', 3]])));
  });
});
