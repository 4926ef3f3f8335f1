/** Which host a process belongs to: the migration's source or its destination. */
export type Side = 'source' | 'destination';

/** The processes a fault can hit on a host. */
export type Target = 'qemu' | 'ferryd' | 'lockd';

/**
 * One fault of the matrix (issue 16): a process on one side killed (SIGKILL: a crash, the OOM killer) or
 * stopped (SIGSTOP, for longer than ferry's timeouts, then SIGCONT: a host that hangs and comes back).
 */
export interface Fault {
  name: string;
  side: Side;
  target: Target;
  signal: 'SIGKILL' | 'SIGSTOP';
}

const TARGETS: Target[] = ['qemu', 'ferryd', 'lockd'];
const SIDES: Side[] = ['source', 'destination'];

/** Every process fault: SIGKILL and SIGSTOP of QEMU, ferryd and ferry-lockd, on either side (12 in all). */
export const FAULTS: Fault[] = (['SIGKILL', 'SIGSTOP'] as const).flatMap((signal) =>
  SIDES.flatMap((side) =>
    TARGETS.map((target) => ({ name: `${signal === 'SIGKILL' ? 'kill' : 'stop'}-${side === 'source' ? 'src' : 'dst'}-${target}`, side, target, signal })),
  ),
);

/** Whether a fault can kill the guest itself: its QEMU killed (a lost VM is then the right outcome, never a second one). */
export function killsTheGuest(f: Fault): boolean {
  return f.target === 'qemu' && f.signal === 'SIGKILL';
}
