import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FerryError } from '../errors/ferry-error.js';
import type { BandwidthRate, InterfaceDefinition } from '../vm/definition.js';
import { stderrOf } from './tap.js';

const run = promisify(execFile);

/**
 * Sets an interface's <bandwidth> on its host device with tc, in libvirt's
 * scheme (virNetDevBandwidthSet): the host device's transmit side is shaped
 * with an htb class (rate = average, ceil = peak, burst), its receive side
 * policed (an ingress qdisc and a u32 filter with police … drop). For a tap
 * the guest's view is the reverse of the host's (`swapped`): <inbound>, the
 * guest's download, is the tap's transmit. libvirt also hangs an sfq qdisc
 * under the htb class; ferry leaves the class's default queue (sfq is not in
 * every kernel, and it changes only fairness inside the one class).
 * Rates are kilobytes per second, bursts kilobytes (tc's kbps and kb).
 */
export async function setBandwidth(dev: string, bw: NonNullable<InterfaceDefinition['bandwidth']>, swapped: boolean): Promise<void> {
  const transmit = swapped ? bw.inbound : bw.outbound;
  const receive = swapped ? bw.outbound : bw.inbound;
  await clearBandwidth(dev);
  try {
    if (transmit) {
      await tc('qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1');
      await tc('class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', `${transmit.average}kbps`,
        ...(transmit.peak ? ['ceil', `${transmit.peak}kbps`] : []),
        ...(transmit.burst ? ['burst', `${transmit.burst}kb`] : []),
        'quantum', String(quantum(transmit)));
    }
    if (receive) {
      const burst = receive.burst ?? Math.min(receive.average, Math.floor(0xffffffff / 1024));
      await tc('qdisc', 'add', 'dev', dev, 'ingress');
      await tc('filter', 'add', 'dev', dev, 'parent', 'ffff:', 'protocol', 'all', 'u32', 'match', 'u32', '0', '0',
        'police', 'rate', `${receive.average}kbps`, 'burst', `${burst}kb`, 'mtu', '64kb', 'drop', 'flowid', ':1');
    }
  } catch (err) {
    await clearBandwidth(dev);
    throw new FerryError('NET_BANDWIDTH_FAILED', `Unable to set <bandwidth> on ${dev}: ${stderrOf(err)}`, { cause: err, details: { dev } });
  }
}

/** Removes what setBandwidth() set (missing qdiscs are fine). */
export async function clearBandwidth(dev: string): Promise<void> {
  await tc('qdisc', 'del', 'dev', dev, 'root').catch(() => undefined);
  await tc('qdisc', 'del', 'dev', dev, 'ingress').catch(() => undefined);
}

/** htb's quantum: bytes a class sends per round, about one MTU (libvirt's virNetDevBandwidthCmdAddOptimalQuantum). */
function quantum(rate: BandwidthRate): number {
  return Math.max(1, Math.floor((rate.average * 1024) / 8 / 1500));
}

async function tc(...args: string[]): Promise<void> {
  await run('tc', args);
}
