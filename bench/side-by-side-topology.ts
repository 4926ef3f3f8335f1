import type { CliResult } from '../test/helpers/ferryd.js';
import type { GuestXmlOptions } from '../test/helpers/guest.js';
import type { Ping } from '../test/helpers/ping.js';
import type { LibvirtHost } from './libvirt-host.js';

/**
 * Two hosts, each with a ferryd and a libvirtd, as bench/libvirt-side-by-side.ts runs the
 * same guest between them with either tool: this machine's loopback
 * (side-by-side-loopback.ts) or the lab's shaped links (side-by-side-lab.ts).
 */
export interface Topology {
  /** How the table names it, e.g. "loopback" or "lab, 1gbit shaped link". */
  label: string;
  hosts: [string, string];
  /** A directory every host can read (the guest's XML goes there). */
  sharedDir: string;
  /** `ferry ARGS` typed on a host. */
  ferry(host: string, ...args: string[]): Promise<CliResult>;
  /** The destination URI `ferry migrate` takes to reach a host. */
  ferryPeerUri(host: string): string;
  /** A guest's serial log on a host under ferry. */
  ferrySerialLog(host: string, name: string): string;
  libvirt(host: string): LibvirtHost;
  /** The --migrateuri for QEMU's stream to a host under libvirt. */
  libvirtMigrateUri(host: string): string;
  /** Guest options the topology needs (lab: a NIC on the VM bridge and its address). */
  guest: Partial<GuestXmlOptions>;
  /** Resolves once the guest answers on the VM network (lab); at once without one. */
  waitReachable(): Promise<void>;
  /** A pinger on the VM network towards the guest, started (lab only). */
  ping?(): Ping;
  /** Bytes a host has sent on its migration link so far (lab only: its own link). */
  wireBytes?(host: string): number;
  stop(): Promise<void>;
}
