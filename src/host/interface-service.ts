import { readFileSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { renderDomainXml, renderLiveXml } from '../vm/render-domain-xml.js';
import { type DomainDefinition, hasHostDevice, type InterfaceDefinition } from '../vm/definition.js';
import type { HostService } from './host-service.js';
import { findInterface, setLink } from './link-state.js';
import { sharesHostView } from './nic-backends.js';
import type { InterfaceStats } from '../shared/api-types.js';

export interface InterfaceRow {
  interface: string;
  type: string;
  source: string;
  model: string;
  mac: string;
}

/**
 * virsh's domif* verbs: domiflist, domif-getlink, domif-setlink, domifstat.
 * A link change on a running domain goes to QEMU (set_link) and into the live
 * definition, so a migration carries it; --config changes the persistent one.
 */
export class InterfaceService {
  constructor(private readonly deps: { host: HostService }) {}

  list(ref: string, options: { inactive?: boolean } = {}): InterfaceRow[] {
    return this.deps.host.definition(ref, options).devices.interfaces.map((i) => ({
      interface: i.targetDev ?? '-',
      type: i.type,
      source: sourceOf(i),
      model: i.model,
      mac: i.mac,
    }));
  }

  /** The link state as domif-getlink shows it: the live one, or with `config` the persistent one. */
  getLink(ref: string, iface: string, options: { config?: boolean } = {}): { interface: string; state: 'up' | 'down' } {
    const def = this.deps.host.definition(ref, { inactive: options.config ?? false });
    const found = this.find(def, iface);
    return { interface: iface, state: found.linkState ?? 'up' };
  }

  /**
   * domif-setlink: on a running domain (without `config`) QEMU's link and the
   * live definition; with `config`, or for a shut-off domain, the persistent one.
   */
  async setLink(ref: string, iface: string, state: 'up' | 'down', options: { config?: boolean } = {}): Promise<void> {
    const { host } = this.deps;
    const rec = host.lookup(ref);
    await host.jobs.run(rec.uuid, 'modify', async () => {
      const vm = host.runningDomain(rec.uuid);
      const live = vm && !options.config;
      if (live) {
        const next = structuredClone(vm.def);
        const target = this.find(next, iface);
        await setLink(vm.monitor, target, state === 'up');
        target.linkState = state;
        vm.updateDefinition(next);
        host.store.setLiveXml(rec.uuid, renderLiveXml(next));
        return;
      }
      const current = host.lookup(rec.uuid);
      if (current.persistentXml === null) {
        throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: transient domains do not have any persistent config');
      }
      const persistent = parseDomainXml(current.persistentXml);
      // The persistent definition has no tap names: find the interface by its MAC, via the live one when given a tap name.
      const mac = this.find(vm ? vm.def : persistent, iface).mac;
      const target = this.find(persistent, mac);
      target.linkState = state;
      host.store.saveDefinition({ uuid: rec.uuid, name: rec.name, persistentXml: renderDomainXml(persistent) });
    });
  }

  /**
   * domifstat: the counters of the interface's host device, from the guest's
   * point of view (libvirt's virNetDevTapInterfaceStats: a tap on a bridge
   * receives what the guest transmits, so its counters are swapped).
   */
  stats(ref: string, iface: string): InterfaceStats {
    const rec = this.deps.host.lookup(ref);
    const vm = this.deps.host.runningDomain(rec.uuid);
    if (!vm) throw new FerryError('OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
    const found = this.find(vm.def, iface);
    if (!hasHostDevice(found) || !found.targetDev) {
      throw new FerryError('NOT_SUPPORTED', `Operation not supported: interface '${iface}' of type='${found.type}' has no host device to count on`);
    }
    const dev = found.targetDev;
    const read = (name: string): number => Number(readFileSync(`/sys/class/net/${dev}/statistics/${name}`, 'utf8').trim());
    const [rx, tx] = sharesHostView(found) ? ['rx', 'tx'] : ['tx', 'rx'];
    return {
      rx_bytes: read(`${rx}_bytes`),
      rx_packets: read(`${rx}_packets`),
      rx_errs: read(`${rx}_errors`),
      rx_drop: read(`${rx}_dropped`),
      tx_bytes: read(`${tx}_bytes`),
      tx_packets: read(`${tx}_packets`),
      tx_errs: read(`${tx}_errors`),
      tx_drop: read(`${tx}_dropped`),
    };
  }

  private find(def: DomainDefinition, iface: string): InterfaceDefinition {
    return findInterface(def, iface).iface;
  }
}

/** domiflist's Source column: the bridge, network or host interface. */
function sourceOf(i: InterfaceDefinition): string {
  switch (i.type) {
    case 'network':
      return i.source.network ?? '-';
    case 'bridge':
      return i.source.bridge ?? '-';
    case 'direct':
      return i.source.dev ?? '-';
    default:
      return '-';
  }
}
