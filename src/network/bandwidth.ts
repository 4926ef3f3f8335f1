import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
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
 * A policer has no peak rate (libvirt drops a peak there without a word):
 * a receive side with a peak is shaped instead, on an IFB device that the
 * device's ingress is redirected to (mirred), with the same htb class.
 * Rates are kilobytes per second, bursts kilobytes (tc's kbps and kb).
 */
export async function setBandwidth(dev: string, bw: NonNullable<InterfaceDefinition['bandwidth']>, swapped: boolean): Promise<void> {
  const transmit = swapped ? bw.inbound : bw.outbound;
  const receive = swapped ? bw.outbound : bw.inbound;
  await clearBandwidth(dev);
  try {
    if (transmit) await shape(dev, transmit);
    if (receive?.peak !== undefined) {
      const ifb = ifbName(dev);
      await run('ip', ['link', 'add', 'dev', ifb, 'type', 'ifb']);
      await run('ip', ['link', 'set', 'dev', ifb, 'up']);
      await shape(ifb, receive);
      await tc('qdisc', 'add', 'dev', dev, 'ingress');
      await tc(
        'filter',
        'add',
        'dev',
        dev,
        'parent',
        'ffff:',
        'protocol',
        'all',
        'u32',
        'match',
        'u32',
        '0',
        '0',
        'action',
        'mirred',
        'egress',
        'redirect',
        'dev',
        ifb,
      );
    } else if (receive) {
      const burst = receive.burst ?? Math.min(receive.average, Math.floor(0xffffffff / 1024));
      await tc('qdisc', 'add', 'dev', dev, 'ingress');
      await tc(
        'filter',
        'add',
        'dev',
        dev,
        'parent',
        'ffff:',
        'protocol',
        'all',
        'u32',
        'match',
        'u32',
        '0',
        '0',
        'police',
        'rate',
        `${receive.average}kbps`,
        'burst',
        `${burst}kb`,
        'mtu',
        '64kb',
        'drop',
        'flowid',
        ':1',
      );
    }
  } catch (err) {
    await clearBandwidth(dev);
    throw new FerryError('NET_BANDWIDTH_FAILED', `Unable to set <bandwidth> on ${dev}: ${stderrOf(err)}`, { cause: err, details: { dev } });
  }
}

/** Removes what setBandwidth() set, the IFB device too (missing ones are fine). */
export async function clearBandwidth(dev: string): Promise<void> {
  await tc('qdisc', 'del', 'dev', dev, 'root').catch(() => undefined);
  await tc('qdisc', 'del', 'dev', dev, 'ingress').catch(() => undefined);
  await deleteIfb(dev);
}

/** Removes the IFB device setBandwidth() made for `dev` (with the device itself gone, its qdiscs went too). */
export async function deleteIfb(dev: string): Promise<void> {
  await run('ip', ['link', 'del', 'dev', ifbName(dev)]).catch(() => undefined);
}

/**
 * The IFB device that shapes what `dev` receives: named from `dev` alone
 * (within IFNAMSIZ), so that a ferryd started again finds and removes it.
 */
export function ifbName(dev: string): string {
  return `fb${createHash('sha256').update(dev).digest('hex').slice(0, 12)}`;
}

/** An htb root qdisc whose default class 1:1 carries everything at `rate` (ceil = peak, burst). */
async function shape(dev: string, rate: BandwidthRate): Promise<void> {
  await tc('qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1');
  await tc(
    'class',
    'add',
    'dev',
    dev,
    'parent',
    '1:',
    'classid',
    '1:1',
    'htb',
    'rate',
    `${rate.average}kbps`,
    ...(rate.peak ? ['ceil', `${rate.peak}kbps`] : []),
    ...(rate.burst ? ['burst', `${rate.burst}kb`] : []),
    'quantum',
    String(quantum(rate)),
  );
}

/** htb's quantum: bytes a class sends per round, about one MTU (libvirt's virNetDevBandwidthCmdAddOptimalQuantum). */
function quantum(rate: BandwidthRate): number {
  return Math.max(1, Math.floor((rate.average * 1024) / 8 / 1500));
}

async function tc(...args: string[]): Promise<void> {
  await run('tc', args);
}
