import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import { normalizeUuid } from '../vm/identifiers.js';
import type { DomainJobs } from '../vm/jobs.js';
import type { HostBridges } from './host-bridges.js';
import { bridgeSpec, type NetworkDefinition } from './network-definition.js';
import type { NetworkRecord, NetworkStore } from './network-store.js';
import { parseNetworkXml, renderNetworkXml } from './network-xml.js';
import type { NetworkSummary } from '../shared/api-types.js';

export interface NetworkServiceDeps {
  store: NetworkStore;
  bridges: HostBridges;
  /** Serializes operations on one network (keyed by its uuid). */
  jobs: DomainJobs;
  log: Logger;
}

/** Virtual networks with libvirt's semantics: the core behind the net-* verbs and type='network' interfaces. */
export class NetworkService {
  constructor(private readonly deps: NetworkServiceDeps) {}

  /** net-define: a persistent definition (an active network keeps running as it was started). */
  define(xml: string): NetworkDefinition {
    const def = this.complete(parseNetworkXml(xml));
    this.deps.store.save(def.uuid, def.name, renderNetworkXml(def), { persistent: true });
    return def;
  }

  /** net-create: a transient network, started at once and gone when destroyed. */
  async create(xml: string): Promise<NetworkDefinition> {
    const def = this.complete(parseNetworkXml(xml));
    const existing = this.deps.store.findByName(def.name) ?? this.deps.store.get(def.uuid);
    if (existing)
      throw new FerryError('NET_EXISTS', `operation failed: network '${existing.name}' already exists with uuid ${existing.uuid}`, {
        details: { network: existing.name },
      });
    return this.locked(def.uuid, async () => {
      this.deps.store.save(def.uuid, def.name, renderNetworkXml(def), { persistent: false });
      try {
        await this.bringUp(def);
      } catch (err) {
        this.deps.store.remove(def.uuid);
        throw err;
      }
      return def;
    });
  }

  /** A network by name or uuid, as virsh looks networks up. */
  lookup(ref: string): { rec: NetworkRecord; def: NetworkDefinition } {
    const rec = this.deps.store.findByName(ref) ?? this.deps.store.get(normalizeUuid(ref) ?? ref);
    if (!rec) throw new FerryError('NET_NOT_FOUND', `Network not found: no network with matching name '${ref}'`, { details: { network: ref } });
    return { rec, def: parseNetworkXml(rec.xml) };
  }

  async start(ref: string): Promise<void> {
    const { rec } = this.lookup(ref);
    await this.locked(rec.uuid, async () => {
      const { rec: now, def } = this.lookup(rec.uuid);
      if (now.active)
        throw new FerryError('NET_ACTIVE', 'Requested operation is not valid: network is already active', {
          details: { network: def.name },
          hint: `Network '${def.name}' runs already on bridge ${now.bridge} ("ferry net-info ${def.name}")`,
        });
      await this.bringUp(def);
    });
  }

  async destroy(ref: string): Promise<void> {
    const { rec } = this.lookup(ref);
    await this.locked(rec.uuid, async () => {
      const now = this.lookup(rec.uuid).rec;
      if (!now.active) throw this.notActive(now.name);
      if (now.bridgeCreated && now.bridge) await this.deps.bridges.remove(now.bridge);
      if (now.persistent) this.deps.store.setInactive(now.uuid);
      else this.deps.store.remove(now.uuid);
      this.deps.log.info({ network: now.name, bridge: now.bridge, deleted: now.bridgeCreated }, 'network destroyed');
    });
  }

  /** net-undefine: an inactive network goes; an active one stays up as a transient network. */
  async undefine(ref: string): Promise<void> {
    const { rec } = this.lookup(ref);
    await this.locked(rec.uuid, async () => {
      const now = this.lookup(rec.uuid).rec;
      if (!now.persistent)
        throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: network is not persistent', {
          hint: `A transient network goes away with "ferry net-destroy ${now.name}"`,
        });
      if (now.active) this.deps.store.makeTransient(now.uuid);
      else this.deps.store.remove(now.uuid);
    });
  }

  autostart(ref: string, enable: boolean): void {
    const { rec } = this.lookup(ref);
    if (!rec.persistent)
      throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: cannot set autostart for transient network', {
        hint: `Define it first: "ferry net-dumpxml ${rec.name} > net.xml && ferry net-define net.xml"`,
      });
    this.deps.store.setAutostart(rec.uuid, enable);
  }

  list(options: { all?: boolean; inactive?: boolean } = {}): NetworkSummary[] {
    return this.deps.store
      .list()
      .filter((rec) => (options.inactive ? !rec.active : options.all || rec.active))
      .map((rec) => this.summary(rec, parseNetworkXml(rec.xml)));
  }

  info(ref: string): NetworkSummary {
    const { rec, def } = this.lookup(ref);
    return this.summary(rec, def);
  }

  dumpXml(ref: string): string {
    return this.lookup(ref).rec.xml;
  }

  /**
   * The bridge a domain interface of type='network' joins: libvirt's errors
   * for a network that does not exist or is not active.
   */
  bridgeOf(network: string): string {
    const rec = this.deps.store.findByName(network);
    if (!rec) throw new FerryError('NET_NOT_FOUND', `Network not found: no network with matching name '${network}'`, { details: { network } });
    if (!rec.active || !rec.bridge) throw this.notActive(network);
    return rec.bridge;
  }

  /**
   * The address a display listening on the network (<listen type='network'>)
   * binds to, as libvirt picks it: the network's first IPv4 <ip> (else its first
   * IPv6), or for a forward-bridge network the address of its host bridge here.
   */
  addressOf(network: string, interfaceAddresses: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces): string {
    const bridge = this.bridgeOf(network);
    const rec = this.deps.store.findByName(network) as NetworkRecord;
    const ips = parseNetworkXml(rec.xml).ips;
    const fromXml = ips.find((ip) => ip.family === 'ipv4') ?? ips[0];
    if (fromXml) return fromXml.address;
    const onBridge = (interfaceAddresses()[bridge] ?? []).filter((a) => !a.internal);
    const address = onBridge.find((a) => a.family === 'IPv4') ?? onBridge.find((a) => !a.address.startsWith('fe80:'));
    if (!address) {
      throw new FerryError('DISPLAY_LISTEN_UNAVAILABLE', `network-based listen isn't possible, network '${network}' has no addresses (bridge ${bridge})`, {
        details: { network, bridge },
      });
    }
    return address.address;
  }

  /**
   * At ferryd start: networks still marked active are checked (a bridge ferry
   * created that vanished with a host reboot is created again), autostart
   * networks are started. A network that cannot start is logged, not fatal.
   */
  async startAtBoot(): Promise<void> {
    for (const rec of this.deps.store.list()) {
      if (rec.active && rec.bridge && this.deps.bridges.isBridge(rec.bridge)) continue;
      if (!rec.active && !rec.autostart) continue;
      try {
        await this.bringUp(parseNetworkXml(rec.xml));
      } catch (err) {
        this.deps.log.warn({ err, network: rec.name }, 'network could not be started');
        if (rec.persistent) this.deps.store.setInactive(rec.uuid);
        else this.deps.store.remove(rec.uuid);
      }
    }
  }

  private async bringUp(def: NetworkDefinition): Promise<void> {
    const { bridges } = this.deps;
    const bridge = def.bridge.name;
    if (def.forward === 'bridge') {
      if (!bridges.isBridge(bridge)) {
        const what = bridges.exists(bridge) ? `interface '${bridge}' is not a bridge` : `host bridge '${bridge}' does not exist`;
        throw new FerryError('NET_BRIDGE_MISSING', `Cannot start network '${def.name}': ${what}`, {
          details: { network: def.name, bridge },
          hint: `Create the bridge on this host (ip link add ${bridge} type bridge && ip link set ${bridge} up) and attach its uplink, or name an existing bridge in <bridge name=...> (ferry net-define)`,
        });
      }
      this.deps.store.setActive(def.uuid, bridge, false);
    } else {
      if (bridges.exists(bridge)) {
        throw new FerryError('NET_START_FAILED', `error creating bridge interface ${bridge}: File exists`, {
          details: { network: def.name, bridge },
          hint: `Another interface is called ${bridge} on this host; give network '${def.name}' another <bridge name=...> (or leave it out for a free virbrN)`,
        });
      }
      await bridges.create(bridgeSpec(def));
      this.deps.store.setActive(def.uuid, bridge, true);
    }
    this.deps.log.info({ network: def.name, bridge, forward: def.forward }, 'network started');
  }

  /** What libvirt fills in at define: the bridge name of an isolated network ('virbr%d': the first free number). */
  private complete(def: NetworkDefinition): NetworkDefinition {
    const others = this.deps.store
      .list()
      .filter((r) => r.uuid !== def.uuid && r.name !== def.name)
      .map((r) => ({ name: r.name, def: parseNetworkXml(r.xml) }));
    if (def.forward === 'isolated') {
      const template = def.bridge.name;
      if (template.includes('%d')) {
        const taken = new Set(others.map((o) => o.def.bridge.name));
        let n = 0;
        while (taken.has(template.replace('%d', String(n))) || this.deps.bridges.exists(template.replace('%d', String(n)))) n++;
        def.bridge.name = template.replace('%d', String(n));
        if (def.bridge.name.length > 15)
          throw new FerryError('XML_INVALID', `XML error: bridge name '${def.bridge.name}' is longer than 15 characters in <bridge>`);
      }
      const clash = others.find((o) => o.def.bridge.name === def.bridge.name);
      if (clash) {
        throw new FerryError('NET_EXISTS', `bridge name '${def.bridge.name}' already in use by network '${clash.name}'`, {
          details: { network: def.name, bridge: def.bridge.name },
          hint: 'Give this network another <bridge name=...>, or leave it out for a free virbrN',
        });
      }
    } else if (def.bridge.name.includes('%d')) {
      throw new FerryError(
        'XML_INVALID',
        `XML error: forward mode='bridge' needs the name of an existing host bridge, not the template '${def.bridge.name}' in <bridge>`,
      );
    }
    return def;
  }

  private summary(rec: NetworkRecord, def: NetworkDefinition): NetworkSummary {
    return {
      name: rec.name,
      uuid: rec.uuid,
      forward: def.forward,
      active: rec.active,
      autostart: rec.autostart,
      persistent: rec.persistent,
      bridge: rec.bridge ?? def.bridge.name,
    };
  }

  private notActive(network: string): FerryError {
    return new FerryError('NET_NOT_ACTIVE', `Requested operation is not valid: network '${network}' is not active`, {
      details: { network },
      hint: `Start it with "ferry net-start ${network}" (and "ferry net-autostart ${network}" to start it with ferryd)`,
    });
  }

  private locked<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    return this.deps.jobs.run(`net:${uuid}`, 'network', fn);
  }
}
