import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { scopePathOf } from '../cgroups/domain-cgroup.js';
import { type BusCall, busctlCall } from './busctl.js';
import { systemdBooted } from './host-systemd.js';
import { machineName, machineOfScope, machineScopeName } from './unit-names.js';

/** A VM's scope: the unit, and the machine name when systemd-machined registered it. */
export interface VmScope {
  unit: string;
  machine?: string;
}

/** The slice all VM scopes live in, as libvirt's and systemd-nspawn's machines. */
export const MACHINE_SLICE = 'machine.slice';
/** Scopes stop after this target at shutdown; ferry-guests.service stops before it (libvirt's virt-guest-shutdown.target). */
export const GUEST_SHUTDOWN_TARGET = 'ferry-guest-shutdown.target';

const MACHINED = ['org.freedesktop.machine1', '/org/freedesktop/machine1', 'org.freedesktop.machine1.Manager'] as const;
const SYSTEMD = ['org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager'] as const;

/**
 * Puts each VM's QEMU (and its helpers) in a scope of its own under machine.slice, as libvirt does
 * (src/util/virsystemd.c): registered with systemd-machined (CreateMachineWithNetwork, else CreateMachine:
 * class "vm", service "ferry", the QEMU pid as leader), or, without machined, as a transient scope from
 * systemd itself (StartTransientUnit). The scope is in no unit's cgroup, so `systemctl stop ferryd`, a
 * restart or a crash of ferryd leaves it alone. Without systemd (no /run/systemd/system) it does nothing.
 */
export class MachineScopes {
  private readonly call: BusCall;

  constructor(
    private readonly o: {
      log: Logger;
      call?: BusCall;
      booted?: () => boolean;
      /** Whether ferryd may register machines (default: it runs as root). */
      privileged?: () => boolean;
      procCgroup?: (pid: number) => string;
      /** The unit the scopes are ordered after (they stop before it): ferryd's own. */
      service?: string;
      /** How long systemd may take to move the pid into the scope (the job runs asynchronously). */
      placeTimeoutMs?: number;
    },
  ) {
    this.call = o.call ?? busctlCall();
  }

  /**
   * On a systemd host, for a root ferryd. A session ferryd (not root, ferry:///session) may neither register
   * machines nor start system scopes, and skips it as libvirt's unprivileged driver does: its VMs stay in
   * the user's own session.
   */
  get enabled(): boolean {
    return (this.o.booted ?? systemdBooted)() && (this.o.privileged ?? (() => process.getuid?.() === 0))();
  }

  /** The scope's properties (a(sv) in busctl's flattened form): the slice, the shutdown ordering, delegation of its cgroup. */
  properties(): Array<string | number> {
    return [
      'Slice',
      's',
      MACHINE_SLICE,
      'After',
      'as',
      1,
      this.o.service ?? 'ferryd.service',
      'Before',
      'as',
      1,
      GUEST_SHUTDOWN_TARGET,
      // ferryd writes <cputune>/<blkiotune>/<memtune> below the scope (a "ferry" child), as libvirt's nested cgroup.
      'Delegate',
      'b',
      'true',
    ];
  }

  /**
   * Registers a VM whose QEMU is `pid` (not yet running guest code) and waits until the kernel shows the
   * pid in the scope. undefined when the host has no systemd. Throws when neither machined nor systemd
   * would make the scope: a VM left in ferryd's cgroup would die with ferryd.
   */
  async register(vm: { pid: number; name: string; uuid: string }): Promise<VmScope | undefined> {
    if (!this.enabled) return undefined;
    const machine = machineName(vm.pid, vm.name);
    const props = this.properties();
    const count = 4;
    const id = [16, ...Buffer.from(vm.uuid.replace(/-/g, ''), 'hex')];
    const reasons: string[] = [];
    let scope: VmScope | undefined;
    try {
      await this.call(...MACHINED, 'CreateMachineWithNetwork', 'sayssusaia(sv)', [machine, ...id, 'ferry', 'vm', vm.pid, '', 0, count, ...props]);
      scope = { unit: machineScopeName(machine), machine };
    } catch (err) {
      reasons.push((err as Error).message);
    }
    if (!scope && /Unknown method|UnknownMethod/.test(reasons[0] ?? '')) {
      try {
        await this.call(...MACHINED, 'CreateMachine', 'sayssusa(sv)', [machine, ...id, 'ferry', 'vm', vm.pid, '', count, ...props]);
        scope = { unit: machineScopeName(machine), machine };
      } catch (err) {
        reasons.push((err as Error).message);
      }
    }
    if (!scope) {
      // No machined (not installed, or masked): the same scope straight from systemd, without the machine record.
      this.o.log.info({ vm: vm.name, reason: reasons.join('; ') }, 'systemd-machined did not register the VM: a transient scope from systemd instead');
      const unit = machineScopeName(machine);
      await this.call(...SYSTEMD, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [
        unit,
        'fail',
        count + 2,
        'Description',
        's',
        `ferry virtual machine ${vm.name}`,
        'PIDs',
        'au',
        1,
        vm.pid,
        ...props,
        0,
      ]);
      scope = { unit };
    }
    await this.waitPlaced(vm.pid, scope.unit);
    return scope;
  }

  /** Moves helper processes (swtpm, the display's dbus-daemon) that started before QEMU into its scope. */
  async attach(scope: VmScope, pids: readonly number[]): Promise<void> {
    if (pids.length === 0) return;
    await this.call(...SYSTEMD, 'AttachProcessesToUnit', 'ssau', [scope.unit, '/', pids.length, ...pids]);
  }

  /** The scope a running process is in (ferryd restarted: found again from the kernel), if a machine scope. */
  find(pid: number): VmScope | undefined {
    let text: string;
    try {
      text = (this.o.procCgroup ?? ((p: number) => readFileSync(`/proc/${p}/cgroup`, 'utf8')))(pid);
    } catch {
      return undefined;
    }
    const unit = scopeUnitOf(text);
    if (!unit) return undefined;
    const machine = machineOfScope(unit);
    return machine === undefined ? { unit } : { unit, machine };
  }

  /**
   * Ends a VM's scope once its QEMU is gone (and what remains in it: a helper that outlived it). The
   * machine (or scope) that no longer exists is fine: an empty scope ends by itself.
   */
  async terminate(scope: VmScope): Promise<void> {
    if (!this.enabled) return;
    try {
      if (scope.machine !== undefined) {
        try {
          await this.call(...MACHINED, 'TerminateMachine', 's', [scope.machine]);
          return;
        } catch (err) {
          if (!/NoSuchMachine|No machine|not provided|ServiceUnknown|not found/i.test((err as Error).message)) throw err;
        }
      }
      await this.call(...SYSTEMD, 'StopUnit', 'ss', [scope.unit, 'fail']);
    } catch (err) {
      if (/NoSuchUnit|not loaded|No such unit/i.test((err as Error).message)) return;
      throw err;
    }
  }

  private async waitPlaced(pid: number, unit: string): Promise<void> {
    const deadline = Date.now() + (this.o.placeTimeoutMs ?? 10_000);
    for (;;) {
      const found = this.find(pid);
      if (found?.unit === unit) return;
      if (Date.now() > deadline) throw new Error(`systemd did not move pid ${pid} into ${unit}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** The machine.slice scope unit in a /proc/PID/cgroup text (v2's `0::/path`, or a v1 hierarchy's line). */
export function scopeUnitOf(procCgroup: string): string | undefined {
  return scopePathOf(procCgroup)?.split('/').pop();
}
