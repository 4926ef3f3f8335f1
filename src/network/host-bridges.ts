import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { FerryError } from '../errors/ferry-error.js';
import type { BridgeSpec } from './network-definition.js';

/** Runs `ip` with these arguments; rejects with an Error whose message is ip's own words. */
export type IpRunner = (args: string[]) => Promise<void>;

/** The host's bridges, as the network code needs them (faked in unit tests). */
export interface HostBridges {
  /** Is there a bridge of that name? */
  isBridge(name: string): boolean;
  /** Is there any interface of that name? */
  exists(name: string): boolean;
  /** Creates, configures and brings up a bridge; nothing is left behind when it fails. */
  create(spec: BridgeSpec): Promise<void>;
  /** Deletes a bridge; a missing one is fine. */
  remove(name: string): Promise<void>;
}

const execFileAsync = promisify(execFile);

/** The real `ip`: failures carry ip's message without its "RTNETLINK answers:" prefix. */
export const runIp: IpRunner = async (args) => {
  try {
    await execFileAsync('ip', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('ip is not installed (apt-get install iproute2)');
    throw new Error((e.stderr ?? '').trim().replace(/^RTNETLINK answers: /, '') || e.message);
  }
};

/** Linux bridges through iproute2 and /sys/class/net, as libvirt's network driver makes them. */
export class LinuxBridges implements HostBridges {
  constructor(private readonly deps: { run: IpRunner; sysClassNet?: string }) {}

  isBridge(name: string): boolean {
    return existsSync(`${this.sysfs}/${name}/bridge`);
  }

  exists(name: string): boolean {
    return existsSync(`${this.sysfs}/${name}`);
  }

  async create(spec: BridgeSpec): Promise<void> {
    const { run } = this.deps;
    const add = [
      'link',
      'add',
      'name',
      spec.name,
      ...(spec.mac ? ['address', spec.mac] : []),
      'type',
      'bridge',
      // forward_delay is in hundredths of a second; it is set before STP is switched on (the kernel's order too).
      'forward_delay',
      String(spec.delay * 100),
      'stp_state',
      spec.stp ? '1' : '0',
    ];
    try {
      await run(add);
    } catch (err) {
      throw new FerryError('NET_START_FAILED', `error creating bridge interface ${spec.name}: ${(err as Error).message}`, {
        cause: err,
        details: { bridge: spec.name },
      });
    }
    try {
      // Set after creation so the kernel keeps it when ports with a smaller MTU join.
      if (spec.mtu !== undefined) await run(['link', 'set', 'dev', spec.name, 'mtu', String(spec.mtu)]);
      for (const address of spec.addresses) await run(['addr', 'add', address, 'dev', spec.name]);
      await run(['link', 'set', 'dev', spec.name, 'up']);
    } catch (err) {
      await this.remove(spec.name);
      throw new FerryError('NET_START_FAILED', `failed to set up bridge ${spec.name}: ${(err as Error).message}`, {
        cause: err,
        details: { bridge: spec.name },
      });
    }
  }

  async remove(name: string): Promise<void> {
    await this.deps.run(['link', 'del', 'dev', name]).catch(() => undefined);
  }

  private get sysfs(): string {
    return this.deps.sysClassNet ?? '/sys/class/net';
  }
}
