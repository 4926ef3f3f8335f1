import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';

export interface Resolution {
  addresses: string[];
  /** Found through DNS (not only /etc/hosts). */
  dns: boolean;
  /** Listed in /etc/hosts. */
  hostsFile: boolean;
}

/**
 * How a name resolves: through DNS, through /etc/hosts, or not at all (the
 * seed's `host` check). `servers` overrides /etc/resolv.conf (dns_servers).
 */
export async function resolveName(name: string, o: { hostsPath?: string; servers?: string[] } = {}): Promise<Resolution> {
  const fromHosts = hostsFileAddresses(name, o.hostsPath ?? '/etc/hosts');
  const resolver = new Resolver({ timeout: 500, tries: 2 });
  if (o.servers && o.servers.length > 0) resolver.setServers(o.servers);
  const [v4, v6] = await Promise.all([resolver.resolve4(name).catch(() => [] as string[]), resolver.resolve6(name).catch(() => [] as string[])]);
  const fromDns = [...v4, ...v6];
  return { addresses: [...new Set([...fromDns, ...fromHosts])], dns: fromDns.length > 0, hostsFile: fromHosts.length > 0 };
}

function hostsFileAddresses(name: string, path: string): string[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length >= 2 && fields.slice(1).some((f) => f.toLowerCase() === name.toLowerCase())) out.push(fields[0] as string);
  }
  return out;
}

/** Is `address` one of a host's addresses (loopback counts for names like localhost)? */
export function isOwnAddress(address: string, own: string[]): boolean {
  return own.includes(address) || (address.startsWith('127.') && own.some((a) => a.startsWith('127.'))) || (address === '::1' && own.includes('::1'));
}

/** resolveName() with a short memory: a name asked again within a minute is answered at once. */
export class CachedResolver {
  private readonly cache = new Map<string, { at: number; result: Promise<Resolution> }>();

  constructor(
    private readonly servers: string[],
    private readonly ttlMs = 60_000,
  ) {}

  resolve(name: string): Promise<Resolution> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.result;
    const result = resolveName(name, { servers: this.servers });
    this.cache.set(name, { at: Date.now(), result });
    return result;
  }
}
