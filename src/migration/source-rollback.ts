import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { RunningDomain } from '../host/running-domain.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import type { PeerClient } from '../peer/peer-client.js';
import { PEER } from '../shared/peer-protocol/peer-calls.js';

const IN_FLIGHT = new Set(['setup', 'active', 'device', 'pre-switchover', 'wait-unplug']);

/**
 * Takes a migration back on the source, before the destination ever resumed
 * the VM: cancels QEMU's migration, tells the destination to discard its
 * copy, and resumes the source vCPUs if they ran before. Resolves true once
 * the source is whole again.
 */
export async function rollbackSource(a: {
  vm: RunningDomain;
  peer: PeerClient | undefined;
  id: string;
  sourceWasRunning: boolean;
  log: Logger;
  /** Takes back the disk leases released at the switch; the vCPUs only resume if it succeeds. */
  reacquire?: () => Promise<void>;
}): Promise<boolean> {
  const mm = new MigrationMonitor(a.vm.monitor);
  try {
    const info = await mm.query();
    if (IN_FLIGHT.has(info.status ?? '')) {
      await mm.cancel();
      for (let i = 0; i < 250; i++) {
        const s = (await mm.query()).status ?? '';
        if (!IN_FLIGHT.has(s) && s !== 'cancelling') break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  } catch (err) {
    a.log.warn({ err }, 'cannot cancel the QEMU migration');
  }
  if (a.peer) {
    await a.peer
      .call(PEER.abort, { params: { id: a.id } }, { timeoutMs: 10_000 })
      .catch((err) => a.log.warn({ err }, 'cannot tell the destination to abort; it cleans up when it next asks'));
  }
  try {
    if (a.reacquire) await a.reacquire();
  } catch (err) {
    a.log.error({ err }, 'cannot take the disk leases back: the domain stays paused on the source');
    return false;
  }
  try {
    const status = await a.vm.monitor.queryStatus();
    if (a.sourceWasRunning && !status.running) {
      a.vm.expectResume('migration canceled');
      await a.vm.monitor.cont();
    } else if (a.sourceWasRunning) {
      a.vm.setStatus({ state: 'running', reason: 'migration canceled' });
    } else {
      a.vm.setStatus({ state: 'paused', reason: 'user' });
    }
    return true;
  } catch (err) {
    // A source QEMU that died (killed, crashed) has nothing left to resume: its exit handler records the
    // domain as crashed, and the rollback is as whole as it can be.
    if (await a.vm.process.waitExit(2000)) {
      a.log.warn({ exit: a.vm.process.exit }, 'the source QEMU exited during the migration: nothing to resume');
      return true;
    }
    a.log.error({ err }, 'cannot resume the domain on the source after a failed migration');
    return false;
  }
}

/**
 * Asks the destination whether it resumed the VM, for as long as `maxMs`:
 * 'resumed' (Succeeded), 'not-resumed' (failed, cancelled, unknown to it, or
 * still in Prepare, which this call then aborts), or 'unknown'.
 */
export async function askDestinationOutcome(peer: PeerClient, id: string, o: { maxMs: number; log: Logger }): Promise<'resumed' | 'not-resumed' | 'unknown'> {
  const deadline = Date.now() + o.maxMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const s = await peer.call(PEER.status, { params: { id } }, { timeoutMs: 5000 });
      if (s.phase === 'Succeeded') return 'resumed';
      if (s.phase === 'Failed' || s.phase === 'Cancelled') return 'not-resumed';
      if (s.phase === 'Prepare') {
        await peer.call(PEER.abort, { params: { id } }, { timeoutMs: 5000 });
        return 'not-resumed';
      }
    } catch (err) {
      if (err instanceof FerryError && err.code === 'MIG_NOT_FOUND') return 'not-resumed';
      o.log.warn({ err, attempt }, 'cannot learn whether the destination resumed the domain; it stays paused here until it answers');
    }
    if (Date.now() >= deadline) return 'unknown';
    await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
  }
}
