import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hugepageMemoryKiB } from '../qemu/devices/memory.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { hugepagesCheck, readHugepageHost } from './hugepages-check.js';

const domain = (inner: string, memoryKiB = 1048576): string =>
  `<domain type='kvm'><name>h</name><memory>${memoryKiB}</memory><os><type machine='q35'>hvm</type></os>${inner}<devices/></domain>`;

describe('huge pages a domain needs, and the destination row that counts them', () => {
  it('sums the memory each page size backs: whole RAM, per NUMA cell, the host default when no size is given', () => {
    assert.deepEqual(hugepageMemoryKiB(parseDomainXml(domain(''))), []);
    assert.deepEqual(hugepageMemoryKiB(parseDomainXml(domain('<memoryBacking><hugepages/></memoryBacking>'))), [{ kib: 1048576 }]);
    const cells = parseDomainXml(
      domain(
        `<memoryBacking><hugepages><page size='1' unit='GiB' nodeset='1'/><page size='2048' unit='KiB'/></hugepages></memoryBacking>
      <vcpu>2</vcpu><cpu><numa><cell id='0' cpus='0' memory='524288'/><cell id='1' cpus='1' memory='1048576'/></numa></cpu>`,
        1572864,
      ),
    );
    assert.deepEqual(hugepageMemoryKiB(cells), [
      { sizeKiB: 2048, kib: 524288 },
      { sizeKiB: 1048576, kib: 1048576 },
    ]);
  });

  it('reads free minus reserved pages from sysfs, and says how many are missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-hp-'));
    try {
      mkdirSync(join(dir, 'hugepages-2048kB'));
      writeFileSync(join(dir, 'hugepages-2048kB', 'free_hugepages'), '100\n');
      writeFileSync(join(dir, 'hugepages-2048kB', 'resv_hugepages'), '40\n');
      writeFileSync(join(dir, 'meminfo'), 'MemTotal: 1 kB\nHugepagesize:       2048 kB\n');
      const host = readHugepageHost(dir, join(dir, 'meminfo'));
      assert.equal(host.available(2048), 60);
      assert.equal(host.available(1048576), undefined);
      const short = hugepagesCheck([{ kib: 262144 }], 'hostb', host);
      assert.deepEqual(
        [short.id, short.outcome, short.reason],
        ['hugepages', 'fail', 'the domain needs 128 huge pages of 2 MiB; hostb has 60 free: 68 missing'],
      );
      assert.match(short.hint ?? '', /Reserve 68 more on hostb/);
      assert.equal(hugepagesCheck([{ sizeKiB: 2048, kib: 65536 }], 'hostb', host).reason, 'hostb has them: 32 of 60 free 2 MiB pages');
      const none = hugepagesCheck([{ sizeKiB: 1048576, kib: 1048576 }], 'hostb', host);
      assert.equal(none.reason, 'the domain needs 1 huge pages of 1 GiB; hostb has no 1 GiB pages');
      assert.equal(none.overridable, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
