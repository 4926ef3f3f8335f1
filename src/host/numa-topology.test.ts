import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readHostNumaTopology } from './numa-topology.js';

const meminfo = (n: number, total: number, free: number, inactiveFile: number): string =>
  `Node ${n} MemTotal:       ${total} kB\nNode ${n} MemFree:        ${free} kB\nNode ${n} MemUsed:        ${total - free} kB\nNode ${n} Inactive(anon):    10 kB\nNode ${n} Inactive(file):  ${inactiveFile} kB\n`;

describe('readHostNumaTopology()', () => {
  const root = mkdtempSync(join(tmpdir(), 'ferry-sysnode-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reads each node<N>: its cpulist and its free memory (MemFree + Inactive(file)), by id, ignoring other entries', () => {
    const node = (n: number, cpulist: string, info: string): void => {
      mkdirSync(join(root, `node${n}`));
      writeFileSync(join(root, `node${n}`, 'cpulist'), `${cpulist}\n`);
      writeFileSync(join(root, `node${n}`, 'meminfo'), info);
    };
    node(10, '4-5,7', meminfo(10, 4096, 1000, 24));
    node(0, '0-1', meminfo(0, 8192, 2048, 512));
    node(2, '', meminfo(2, 1024, 1024, 0)); // memory only
    writeFileSync(join(root, 'online'), '0,2,10\n');
    mkdirSync(join(root, 'power'));
    assert.deepEqual(readHostNumaTopology(root), [
      { id: 0, cpus: [0, 1], memTotalKiB: 8192, memFreeKiB: 2560 },
      { id: 2, cpus: [], memTotalKiB: 1024, memFreeKiB: 1024 },
      { id: 10, cpus: [4, 5, 7], memTotalKiB: 4096, memFreeKiB: 1024 },
    ]);
  });

  it('is empty where the kernel shows no nodes, and reads this host (node 0 at least)', () => {
    assert.deepEqual(readHostNumaTopology(join(root, 'missing')), []);
    const host = readHostNumaTopology();
    assert.ok(host.length >= 1 && host[0]?.id === 0 && host[0].memTotalKiB > 0 && host[0].cpus.length > 0);
  });
});
