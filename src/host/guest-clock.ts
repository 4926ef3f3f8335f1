import type { Logger } from 'pino';
import type { RunningDomain } from './running-domain.js';
import { guestClockIsOwn } from '../vm/clock-offset.js';

export interface GuestClockSync {
  log: Logger;
  /** What paused the guest's clock: 'resumed', 'migrated', 'migration canceled'. */
  why: string;
  /** How long to wait for the guest's agent to (re)open its port (after a migration it does once the vCPUs run). */
  waitOpenMs: number;
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Sets the guest's clock to the host's through the agent, after the vCPUs stood still
 * (a pause, a migration's switchover), which is where guests drift. Best effort: a
 * domain without an agent is skipped, a failure is logged and never thrown.
 */
export async function syncGuestClock(vm: RunningDomain, o: GuestClockSync): Promise<boolean> {
  if (!vm.agent.configured) return false;
  const log = o.log.child({ vm: vm.name, why: o.why });
  if (guestClockIsOwn(vm.def)) {
    log.info("the guest's clock runs at its own offset (<clock offset='variable'|'absolute'>): not set from the host's");
    return false;
  }
  try {
    if (!(await vm.agent.waitOpen(o.waitOpenMs))) {
      log.info('guest agent not connected: guest clock not set');
      return false;
    }
    const agent = await vm.agent.agent();
    const ms = (o.now ?? Date.now)();
    await agent.setTime({ seconds: Math.floor(ms / 1000), nseconds: (ms % 1000) * 1_000_000 }, { timeoutMs: o.timeoutMs ?? 5000 });
    log.info({ time: new Date(ms).toISOString() }, 'guest clock set from the host');
    return true;
  } catch (err) {
    log.warn({ err }, 'setting the guest clock through the agent failed');
    return false;
  }
}
