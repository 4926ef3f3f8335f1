import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { diskSize } from './host-facts.js';

describe('diskSize()', () => {
  it("gives a qcow2 image's virtual size, which stays put while the file grows", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-disksize-'));
    try {
      const header = Buffer.alloc(512);
      header.writeUInt32BE(0x514649fb, 0); // "QFI\xfb"
      header.writeUInt32BE(3, 4);
      header.writeBigUInt64BE(32n * 1024n * 1024n, 24);
      const img = join(dir, 'vm.qcow2');
      writeFileSync(img, header);
      assert.equal(diskSize(img), 32 * 1024 * 1024);
      appendFileSync(img, Buffer.alloc(65536)); // a cluster the guest just allocated
      assert.equal(diskSize(img), 32 * 1024 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives any other file's length", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-disksize-'));
    try {
      writeFileSync(join(dir, 'vm.raw'), Buffer.alloc(12345));
      assert.equal(diskSize(join(dir, 'vm.raw')), 12345);
      writeFileSync(join(dir, 'tiny'), 'QFI');
      assert.equal(diskSize(join(dir, 'tiny')), 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
