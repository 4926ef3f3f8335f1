import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { type PreflightDisk, type PreflightRequest, preflightRequestSchema } from '../../shared/peer-protocol/preflight-messages.js';

type Interface = PreflightRequest['interfaces'][number];

/**
 * Every field a source may send: Required<> makes the compiler demand a value for each optional one, so a
 * field added to PreflightRequest without its schema fails here (as the destination's API would refuse it).
 */
const cpu: Required<PreflightRequest['domain']['cpu']> = {
  mode: 'custom',
  model: 'Nehalem',
  check: 'full',
  features: [{ policy: 'require', name: 'x2apic' }],
  sourceMissing: ['avx'],
};
const domain: Required<PreflightRequest['domain']> = {
  name: 'vm',
  uuid: '8d2a3c4e-0000-4000-8000-000000000001',
  memoryKiB: 131072,
  vcpus: 1,
  machine: 'pc-q35-10.0',
  cpu,
  accel: 'tcg',
  tpm: '2.0',
  dbusBus: true,
  hugepages: [{ sizeKiB: 2048, kib: 131072 }, { kib: 4096 }],
  vsock: { cid: 3, auto: true },
  pinning: [{ where: '<emulatorpin>', kind: 'cpus', set: '0-1' }],
};
const disk: Required<PreflightDisk> = {
  dev: 'vda',
  type: 'network',
  readonly: false,
  copied: false,
  path: '/x',
  pool: 'p',
  volume: 'v',
  poolTarget: '/p',
  size: 1,
  allocation: 1,
  network: { protocol: 'nbd', host: 'h', port: 10809 },
};
const iface: Required<Interface> = { mac: '52:54:00:00:00:01', type: 'bridge', bridge: 'br0', network: 'default', vhost: '/dev/vhost-net' };
const full: Required<PreflightRequest> = {
  live: true,
  domain,
  disks: [disk],
  interfaces: [iface],
  source: { hostname: 'a', qemuVersion: '10.0.0', cpuFlags: ['sse2'], t0: 1 },
  listenAddress: '127.0.0.1',
  listenPort: 49152,
  leases: ['r'],
  firmware: { loader: '/l', nvramTemplate: '/t' },
  tls: true,
  filesystems: [{ target: 't', dir: '/d' }],
  secrets: [{ disk: 'vda', type: 'passphrase', uuid: 'u', usage: 'x' }],
  smartcardDatabases: ['/etc/pki/nssdb'],
};

describe('the peer API schema of a pre-flight request', () => {
  it('accepts every field the source sends (the destination refused vsock, vhost and huge page fields it did not know)', () => {
    const validate = new Ajv({ removeAdditional: false, strict: false }).compile(preflightRequestSchema);
    assert.equal(validate(full), true, JSON.stringify(validate.errors));
    assert.equal(validate({ ...full, domain: { ...domain, vsock: { cid: 2, auto: false } } }), false, 'guest CIDs start at 3');
  });
});
