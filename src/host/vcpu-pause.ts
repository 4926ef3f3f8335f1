import type { StateReason } from '../shared/domain-state.js';
import type { RunningDomain } from './running-domain.js';

/** Stops the vCPUs (a no-op when paused already) and waits for QEMU's STOP (the listener registered before the command). */
export async function pauseVcpus(vm: RunningDomain, reason: StateReason<'paused'>): Promise<void> {
  if (vm.status.state === 'paused') return;
  const stopped = vm.monitor.listen(['STOP']);
  try {
    vm.expectStop(reason);
    await vm.monitor.stop();
    await stopped.next({ timeoutMs: 10_000 });
  } finally {
    stopped.close();
  }
}

/** Runs the vCPUs again and waits for QEMU's RESUME (the listener registered before the command). */
export async function resumeVcpus(vm: RunningDomain): Promise<void> {
  const resumed = vm.monitor.listen(['RESUME']);
  try {
    vm.expectResume('unpaused');
    await vm.monitor.cont();
    await resumed.next({ timeoutMs: 10_000 });
  } finally {
    resumed.close();
  }
}
