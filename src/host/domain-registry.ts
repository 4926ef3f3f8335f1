import type { Logger } from 'pino';
import { FerryError } from '../errors/ferry-error.js';
import type { DomainRecord, DomainStore } from '../store/domain-store.js';
import type { VmLocks } from '../locking/vm-locks.js';
import type { DomainDefinition } from '../vm/definition.js';
import type { DomainLauncher } from './domain-launcher.js';
import type { DomainEvent } from '../shared/domain-events.js';
import type { RunningDomain } from './running-domain.js';
import { emulatedTpm } from './swtpm.js';

/** What happens to an emulated TPM's state when its domain is undefined: virsh undefine --keep-tpm / --tpm. */
export type TpmStatePolicy = 'keep' | 'remove';

export interface DomainRegistryDeps {
  store: DomainStore;
  locks: VmLocks;
  launcher: DomainLauncher;
  log: Logger;
  now: () => number;
  publish: (event: DomainEvent) => void;
  /** Starts a domain again after it stopped (on_crash / on_poweroff = restart). */
  restart: (uuid: string) => Promise<unknown>;
}

/**
 * The running-domain registry: the QEMUs this host follows, kept in step with
 * the store (state, events) until they stop, and what is left to do then
 * (leases, cleanup, a transient domain's TPM state).
 */
export class DomainRegistry {
  private readonly running = new Map<string, RunningDomain>();
  /** --keep-tpm / --tpm given when a running domain was undefined: applied when it stops. */
  private readonly tpmOnStop = new Map<string, TpmStatePolicy>();
  /** A stopped domain's cleanup (run dir, taps, helpers) still under way: its next launch waits for it. */
  private readonly cleanups = new Map<string, Promise<void>>();

  constructor(private readonly deps: DomainRegistryDeps) {}

  get(uuid: string): RunningDomain | undefined {
    return this.running.get(uuid);
  }

  has(uuid: string): boolean {
    return this.running.has(uuid);
  }

  /** The running domain of a record: DOMAIN_NOT_RUNNING, or QEMU_UNREACHABLE while ferryd cannot reach its monitor. */
  require(rec: DomainRecord): RunningDomain {
    const vm = this.running.get(rec.uuid);
    if (vm) return vm;
    const now = this.deps.store.get(rec.uuid);
    if (now?.liveXml != null) {
      throw new FerryError(
        'QEMU_UNREACHABLE',
        `cannot reach the monitor of domain '${rec.name}': its QEMU (pid ${now.pid ?? '?'}) still runs, and ferryd keeps trying to reach it`,
        {
          details: { domain: rec.name, pid: now.pid },
        },
      );
    }
    throw new FerryError('DOMAIN_NOT_RUNNING', 'Requested operation is not valid: domain is not running');
  }

  /** The last run's cleanup, if it is still under way. */
  async cleanedUp(uuid: string): Promise<void> {
    await this.cleanups.get(uuid);
  }

  /** The TPM policy of a domain undefined while it runs, applied when it stops. */
  keepTpmPolicyUntilStop(uuid: string, tpm: TpmStatePolicy): void {
    this.tpmOnStop.set(uuid, tpm);
  }

  /** Stops following every QEMU; they keep running (ferryd shutting down). */
  detachAll(): void {
    for (const vm of this.running.values()) vm.detach();
    this.running.clear();
  }

  /** Removes a domain's emulated TPM state: asked (--tpm), or by default unless persistent_state='yes' or --keep-tpm. */
  dropTpmState(def: DomainDefinition, tpm: TpmStatePolicy | undefined): void {
    const b = emulatedTpm(def);
    if (!b || tpm === 'keep' || (tpm !== 'remove' && b.persistentState === true)) return;
    try {
      this.deps.launcher.swtpm.removeState(def);
    } catch (err) {
      this.deps.log.warn({ err, vm: def.name }, 'cannot remove the TPM state');
    }
  }

  /** Follows a running domain: its state to the store and the events, and `cleanup` once its QEMU is gone. */
  track(vm: RunningDomain, cleanup: () => Promise<void> | void): void {
    const { store, launcher } = this.deps;
    this.running.set(vm.uuid, vm);
    vm.on('status', (s) => {
      if (this.running.get(vm.uuid) !== vm) return;
      store.setState(vm.uuid, s.state, s.reason);
      this.deps.publish({ type: 'domain.lifecycle', uuid: vm.uuid, name: vm.name, state: s.state, reason: s.reason, at: this.deps.now() });
    });
    vm.on('panicked', (info) => this.deps.publish({ type: 'domain.panicked', uuid: vm.uuid, name: vm.name, info, at: this.deps.now() }));
    vm.on('watchdog', (action) => this.deps.publish({ type: 'domain.watchdog', uuid: vm.uuid, name: vm.name, action, at: this.deps.now() }));
    vm.coreDumper = (reason) => launcher.dumps.write({ name: vm.name, domainId: store.get(vm.uuid)?.domainId ?? undefined, monitor: vm.monitor }, reason);
    // Where a dump went (or why it failed) is written to the domain's log, where libvirt users look for it.
    vm.on('coredump', ({ reason, path, error }) =>
      launcher.appendToDomainLog(vm.name, path ? `core dump (${reason}) written to ${path}` : `core dump (${reason}) failed: ${error ?? 'unknown error'}`),
    );
    vm.on('stopped', ({ reason, restart }) => this.stopped(vm, { reason, restart }, cleanup));
  }

  private stopped(vm: RunningDomain, how: { reason: string; restart: boolean }, cleanup: () => Promise<void> | void): void {
    const { store, log } = this.deps;
    if (this.running.get(vm.uuid) === vm) this.running.delete(vm.uuid);
    void this.deps.locks.release(vm.uuid);
    const transient = store.get(vm.uuid)?.persistentXml === null;
    store.markStopped(vm.uuid, how.reason);
    // A transient domain leaves nothing behind, its TPM state included (libvirt's persistent_state keeps it),
    // once its swtpm is gone.
    const tpm = this.tpmOnStop.get(vm.uuid);
    this.tpmOnStop.delete(vm.uuid);
    const gone = transient && store.get(vm.uuid) === undefined;
    const done = Promise.resolve(cleanup())
      .catch((err) => log.warn({ err, vm: vm.name }, 'cleanup after stop failed'))
      .then(() => {
        if (gone && store.get(vm.uuid) === undefined) this.dropTpmState(vm.def, tpm);
      });
    this.cleanups.set(vm.uuid, done);
    void done.finally(() => {
      if (this.cleanups.get(vm.uuid) === done) this.cleanups.delete(vm.uuid);
    });
    this.deps.publish({ type: 'domain.lifecycle', uuid: vm.uuid, name: vm.name, state: 'shutoff', reason: how.reason, at: this.deps.now() });
    if (how.restart) {
      void this.deps.restart(vm.uuid).catch((err) => log.error({ err, vm: vm.name }, 'restart after crash failed'));
    }
  }
}
