/** Which host a process belongs to: the migration's source or its destination. */
export type Side = 'source' | 'destination';

/** The processes a fault can hit on a host. */
export type Target = 'qemu' | 'ferryd' | 'lockd';

/**
 * A process on one side killed (SIGKILL: a crash, the OOM killer) or stopped (SIGSTOP, for longer than ferry's
 * timeouts, then SIGCONT: a host that hangs and comes back).
 */
export interface ProcessFault {
  kind: 'process';
  name: string;
  side: Side;
  target: Target;
  signal: 'SIGKILL' | 'SIGSTOP';
}

/**
 * A link between the hosts, through a proxy (test/helpers/fault-proxy.ts): the migration stream (QEMU to QEMU) or
 * the management connection (the source ferryd's peer calls to the destination's). `cut`: the connections are
 * reset and new ones refused for the hold; `stall`: nothing moves for the hold, the connections stay open.
 */
export interface NetworkFault {
  kind: 'network';
  name: string;
  link: 'migration' | 'management';
  action: 'cut' | 'stall';
}

/**
 * The destination's state directory (its store, where an incoming definition and NVRAM are written, its logs)
 * full, on a tmpfs of its own, for the hold; then space again.
 */
export interface DiskFault {
  kind: 'disk';
  name: string;
}

export type Fault = ProcessFault | NetworkFault | DiskFault;

const TARGETS: Target[] = ['qemu', 'ferryd', 'lockd'];
const SIDES: Side[] = ['source', 'destination'];

/** Every process fault: SIGKILL and SIGSTOP of QEMU, ferryd and ferry-lockd, on either side (12 in all). */
export const PROCESS_FAULTS: ProcessFault[] = (['SIGKILL', 'SIGSTOP'] as const).flatMap((signal) =>
  SIDES.flatMap((side) =>
    TARGETS.map((target) => ({
      kind: 'process' as const,
      name: `${signal === 'SIGKILL' ? 'kill' : 'stop'}-${side === 'source' ? 'src' : 'dst'}-${target}`,
      side,
      target,
      signal,
    })),
  ),
);

/** The migration stream and the management connection, each cut and stalled (4 in all). */
export const NETWORK_FAULTS: NetworkFault[] = (['cut', 'stall'] as const).flatMap((action) =>
  (['migration', 'management'] as const).map((link) => ({ kind: 'network' as const, name: `${action}-${link}`, link, action })),
);

export const DISK_FAULTS: DiskFault[] = [{ kind: 'disk', name: 'full-dst-disk' }];

export const FAULTS: Fault[] = [...PROCESS_FAULTS, ...NETWORK_FAULTS, ...DISK_FAULTS];

/** Whether a fault can kill the guest itself: its QEMU killed (a lost VM is then the right outcome, never a second one). */
export function killsTheGuest(f: Fault): boolean {
  return f.kind === 'process' && f.target === 'qemu' && f.signal === 'SIGKILL';
}
