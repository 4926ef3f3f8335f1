import { mkdirSync } from 'node:fs';
import type { FuzzTarget } from './target.js';

/**
 * What the fuzzed ferryd holds before every input: one domain, one network and one pool, defined and not
 * started (nothing on the host changes), so that a refusal that changes or removes a definition shows.
 */
export const BASELINE = {
  domain: 'fuzz-baseline',
  domainUuid: 'f0220000-0000-4000-8000-000000000001',
  network: 'fuzz-net',
  networkUuid: 'f0220000-0000-4000-8000-000000000002',
  pool: 'fuzz-pool',
  poolUuid: 'f0220000-0000-4000-8000-000000000003',
};

export function baselineDomainXml(): string {
  return `<domain type='kvm'>
  <name>${BASELINE.domain}</name>
  <uuid>${BASELINE.domainUuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><serial type='pty'/><console type='pty'><target type='serial' port='0'/></console></devices>
</domain>
`;
}

export function baselineNetworkXml(): string {
  return `<network><name>${BASELINE.network}</name><uuid>${BASELINE.networkUuid}</uuid><forward mode='bridge'/><bridge name='fuzzbr0'/></network>\n`;
}

export function baselinePoolXml(dir: string): string {
  return `<pool type='dir'><name>${BASELINE.pool}</name><uuid>${BASELINE.poolUuid}</uuid><target><path>${dir}</path></target></pool>\n`;
}

/** Defines whatever of the baseline is missing (an accepted API call may have removed it). */
export async function ensureBaseline(target: FuzzTarget): Promise<void> {
  const exists = async (path: string): Promise<boolean> => (await target.call('GET', path)).status === 200;
  const define = async (path: string, xml: string): Promise<void> => {
    const r = await target.call('POST', path, { xml });
    if (r.status !== 200) throw new Error(`cannot define the fuzz baseline at ${path}: ${r.text}`);
  };
  if (!(await exists(`/v1/domains/${BASELINE.domain}`))) await define('/v1/domains', baselineDomainXml());
  if (!(await exists(`/v1/networks/${BASELINE.network}`))) await define('/v1/networks', baselineNetworkXml());
  if (!(await exists(`/v1/pools/${BASELINE.pool}`))) {
    const dir = `${target.workDir}/pool`;
    mkdirSync(dir, { recursive: true });
    await define('/v1/pools', baselinePoolXml(dir));
  }
}

/**
 * Removes every definition that is not the baseline's and defines what the baseline misses. After a failed
 * input (which may have left its definition behind), so that the next input, and fast-check's shrinking
 * of the failure, start from the baseline and not from what the failure left.
 */
export async function resetToBaseline(target: FuzzTarget): Promise<void> {
  const list = async <T>(path: string, key: string): Promise<T[]> => ((await target.call('GET', path)).json as Record<string, T[]>)[key] ?? [];
  for (const d of await list<{ uuid: string }>('/v1/domains?all=true', 'domains')) {
    if (d.uuid === BASELINE.domainUuid) continue;
    await target.call('POST', `/v1/domains/${d.uuid}/destroy`, {});
    await target.call('DELETE', `/v1/domains/${d.uuid}?nvram=keep&tpm=keep`);
  }
  for (const n of await list<{ uuid: string }>('/v1/networks?all=true', 'networks')) {
    if (n.uuid !== BASELINE.networkUuid) await target.call('DELETE', `/v1/networks/${n.uuid}`);
  }
  for (const p of await list<{ uuid: string }>('/v1/pools?all=true', 'pools')) {
    if (p.uuid !== BASELINE.poolUuid) await target.call('DELETE', `/v1/pools/${p.uuid}`);
  }
  for (const s of await list<{ uuid: string }>('/v1/secrets', 'secrets')) await target.call('DELETE', `/v1/secrets/${s.uuid}`);
  await ensureBaseline(target);
}
