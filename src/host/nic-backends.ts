import { closeSync } from 'node:fs';
import { FerryError } from '../errors/ferry-error.js';
import { clearBandwidth, deleteIfb, setBandwidth } from '../network/bandwidth.js';
import { runInterfaceScript } from '../network/ethernet-script.js';
import { createMacvtap } from '../network/macvtap.js';
import { addHostSide, createTap, deleteTap } from '../network/tap.js';
import { nicQueues, vhostNetDevice } from '../qemu/devices/nic.js';
import { Ethtool } from '../system/ethtool.js';
import type { TapOpener } from '../system/tap-device.js';
import { type DomainDefinition, hasHostDevice, type InterfaceDefinition } from '../vm/definition.js';

/**
 * The host side of a domain's interfaces, made before QEMU starts and undone
 * after it is gone: taps (on a bridge, or alone for type='ethernet', run
 * through its <script>), macvtaps for type='direct', one descriptor per queue
 * for QEMU, each tap's MTU, its <bandwidth> (tc) and its <coalesce> (ethtool).
 */
export class NicBackends {
  private readonly ethtool = new Ethtool();

  constructor(private readonly taps: TapOpener) {}

  /**
   * Makes every interface's device of a live definition and opens it for
   * QEMU: the descriptors are appended to `fds` (QEMU sees fds[k] as k+3), and
   * the result says which of them each interface gets: its tap's (one per
   * queue) and, for <driver name='vhost'>, as many of vhost-net's. On failure
   * the caller removes what was made with tearDown().
   */
  async setUp(live: DomainDefinition, fds: number[]): Promise<NicDescriptors> {
    const result: NicDescriptors = { tapFds: [], vhostFds: [] };
    const handOver = (opened: number[]): number[] =>
      opened.map((fd) => {
        fds.push(fd);
        return 2 + fds.length;
      });
    for (const iface of live.devices.interfaces) {
      if (!hasHostDevice(iface)) {
        result.tapFds.push(undefined);
        result.vhostFds.push(undefined);
        continue;
      }
      result.tapFds.push(handOver(await this.open(iface)));
      const vhost = vhostNetDevice(iface);
      result.vhostFds.push(vhost === undefined ? undefined : handOver(this.openVhost(iface, vhost)));
      if (iface.bandwidth) await setBandwidth(iface.targetDev as string, iface.bandwidth, !sharesHostView(iface));
      if (iface.coalesceRxFrames !== undefined) this.setCoalesce(iface.targetDev as string, iface.coalesceRxFrames);
    }
    return result;
  }

  /**
   * <coalesce><rx><frames max>: the tap's rx-frames, as libvirt sets it on a
   * bridge's tap (virNetDevSetCoalesce). A kernel that refuses it, or keeps
   * another value (tun caps it at NAPI's weight, 64), fails the start.
   */
  private setCoalesce(dev: string, frames: number): void {
    let got: number;
    try {
      got = this.ethtool.setRxFrames(dev, frames);
    } catch (err) {
      throw new FerryError('NET_COALESCE_FAILED', `Unable to set <coalesce> rx frames ${frames} on ${dev}: ${(err as Error).message}`, {
        cause: err,
        details: { dev, frames },
      });
    }
    if (got !== frames) {
      throw new FerryError('NET_COALESCE_FAILED', `Unable to set <coalesce> rx frames ${frames} on ${dev}: the kernel keeps ${got}`, {
        details: { dev, frames, kept: got },
      });
    }
  }

  /** Removes what setUp() made (missing devices are fine); runs type='ethernet' <downscript>s. */
  async tearDown(live: DomainDefinition): Promise<void> {
    for (const iface of live.devices.interfaces) {
      const dev = iface.targetDev;
      if (!hasHostDevice(iface) || dev === undefined) continue;
      if (iface.targetManaged === false) {
        if (iface.bandwidth) await clearBandwidth(dev);
      } else {
        await deleteTap(dev);
        if (iface.bandwidth) await deleteIfb(dev);
      }
      if (iface.downscript !== undefined) await runInterfaceScript(iface.downscript, dev).catch(() => undefined);
    }
  }

  private async open(iface: InterfaceDefinition): Promise<number[]> {
    const name = iface.targetDev as string;
    const queues = nicQueues(iface);
    const vnetHdr = iface.model === 'virtio';
    if (iface.type === 'direct') {
      const ifindex = await createMacvtap({
        name,
        parent: iface.source.dev as string,
        mode: iface.source.mode ?? 'vepa',
        mac: iface.mac,
        ...(iface.mtu ? { mtu: iface.mtu } : {}),
      });
      return this.each(queues, name, () => this.taps.openMacvtap(ifindex, { vnetHdr }), 'NET_MACVTAP_FAILED');
    }
    if (iface.targetManaged !== false) {
      await createTap(name, {
        ...(iface.type === 'ethernet' ? {} : { bridge: iface.source.bridge as string }),
        ...(iface.mtu ? { mtu: iface.mtu } : {}),
        multiQueue: queues > 1,
        ...(iface.portIsolated ? { isolated: true } : {}),
      });
      if (iface.source.hostIps || iface.source.hostRoutes) await addHostSide(name, iface.source.hostIps ?? [], iface.source.hostRoutes ?? []);
      if (iface.script !== undefined) await runInterfaceScript(iface.script, name);
    }
    const cloneDevice = iface.backend?.tap;
    const label = cloneDevice ? `${name} through <backend tap='${cloneDevice}'>` : name;
    return this.each(queues, label, () => this.taps.open(name, { vnetHdr, multiQueue: queues > 1, ...(cloneDevice ? { cloneDevice } : {}) }), 'NET_TAP_FAILED');
  }

  /** One vhost-net descriptor per queue of the interface (libvirt's qemuInterfaceOpenVhostNet). */
  private openVhost(iface: InterfaceDefinition, path: string): number[] {
    const out: number[] = [];
    try {
      for (let q = 0; q < nicQueues(iface); q++) out.push(this.taps.openVhost(path));
    } catch (err) {
      for (const fd of out) closeFd(fd);
      throw new FerryError(
        'NET_VHOST_UNAVAILABLE',
        `Unable to open vhost-net device ${path} for interface ${iface.targetDev ?? iface.mac}: ${(err as Error).message}`,
        { cause: err, details: { path } },
      );
    }
    return out;
  }

  /** Opens `n` descriptors (one per queue); closes them all if one fails. */
  private each(n: number, name: string, openOne: () => number, code: 'NET_TAP_FAILED' | 'NET_MACVTAP_FAILED'): number[] {
    const out: number[] = [];
    try {
      for (let q = 0; q < n; q++) out.push(openOne());
    } catch (err) {
      for (const fd of out) closeFd(fd);
      throw new FerryError(code, `Unable to open tap device ${name}: ${(err as Error).message}`, { cause: err });
    }
    return out;
  }
}

/** Per interface (in definition order), the descriptor numbers QEMU sees; undefined for one without a tap. */
export interface NicDescriptors {
  tapFds: Array<number[] | undefined>;
  vhostFds: Array<number[] | undefined>;
}

/**
 * libvirt's virDomainNetTypeSharesHostView: for type='direct' and 'ethernet'
 * the host device's receive side is the guest's receive side; for a tap on a
 * bridge it is the reverse (what the guest sends, the tap receives).
 */
export function sharesHostView(iface: InterfaceDefinition): boolean {
  return iface.type === 'direct' || iface.type === 'ethernet';
}

function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
