import { canConnect } from './can-connect.js';
import type { RunningDomain } from '../host/running-domain.js';
import { BlockMonitor } from '../qemu/block-monitor.js';
import { compareVersions, formatVersion, type QemuVersion } from '../qemu/binary.js';
import { MigrationMonitor } from '../qemu/migration-monitor.js';
import { type DomainDefinition, isWritableDisk } from '../vm/definition.js';
import { type CheckResult, fail, pass, warn } from '../shared/check-result.js';
import { type CachedResolver, isOwnAddress } from './name-resolution.js';
import type { PreflightReply } from '../shared/peer-protocol/preflight-messages.js';

/** QEMU's TCG dirty tracking lost writes during migration before 9.0 (commit 03bfc2188f). */
export const TCG_MIGRATION_FIX: QemuVersion = { major: 9, minor: 0, micro: 0 };

export function cacheModeCheck(def: DomainDefinition): CheckResult {
  const unsafe = def.devices.disks.find((d) => isWritableDisk(d) && d.cache !== 'none' && d.cache !== 'directsync' && !d.shareable);
  if (!unsafe) return pass('cache-mode', 'every writable disk uses cache none or directsync', true);
  return {
    id: 'cache-mode',
    outcome: 'fail',
    reason: `Unsafe migration: Migration may lead to data corruption if disks use cache != none (disk ${unsafe.target.dev} uses cache=${unsafe.cache ?? 'default'})`,
    hint: `ferry disk-edit ${def.name} ${unsafe.target.dev} --cache none, then restart the domain; or pass --unsafe`,
    overridable: true,
  };
}

export function hostDeviceCheck(def: DomainDefinition, live: boolean): CheckResult {
  const h = def.devices.hostdevs[0];
  if (!h) return pass('host-devices', 'no PCI, SR-IOV or mediated devices');
  const what = h.type === 'mdev' ? 'mediated device (vGPU)' : h.type === 'pci' ? 'PCI device (passthrough or SR-IOV VF)' : `${h.type.toUpperCase()} device`;
  if (!live) return pass('host-devices', `${what} ${h.address}: allowed offline`);
  return fail(
    'host-devices',
    `the domain has an assigned ${what} ${h.address}: it cannot be migrated live`,
    'Shut it down and migrate it offline (--offline --persistent), or detach the device first',
  );
}

/**
 * Devices whose state cannot travel with a live migration, refused before
 * anything moves (as libvirt's qemuMigrationSrcIsAllowed and QEMU itself
 * would): a <shmem> whose role is not 'master' (libvirt's rule; QEMU blocks
 * non-master ivshmem), and usb-mtp (<filesystem><driver type='mtp'>, whose
 * QEMU state is marked unmigratable). Under TCG a master <shmem> is refused
 * too: QEMU 10.0's TCG dirty tracking aborts the source QEMU (assertion in
 * tlb_reset_dirty_range_all) when it migrates an ivshmem device's shared
 * memory, which would kill the guest. Offline, the definition moves as it is.
 */
export function unmigratableDevicesCheck(def: DomainDefinition, live: boolean, accel: 'kvm' | 'tcg'): CheckResult {
  const shmems = def.devices.shmems ?? [];
  const reasons = [
    ...shmems.filter((s) => s.role !== 'master').map((s) => `shmem device '${s.name}' cannot be migrated, only shmem with role='master' can be migrated`),
    ...(accel === 'tcg' ? shmems.filter((s) => s.role === 'master') : []).map(
      (s) =>
        `shmem device '${s.name}' cannot be migrated under TCG: QEMU's TCG dirty tracking aborts the source QEMU when it migrates ivshmem memory (assertion in tlb_reset_dirty_range_all); it migrates under KVM`,
    ),
    ...(def.devices.filesystems ?? [])
      .filter((f) => f.driver === 'mtp')
      .map((f) => `<filesystem> '${f.target}' (usb-mtp) cannot be migrated: QEMU marks the usb-mtp device unmigratable`),
  ];
  if (reasons.length === 0) return pass('unmigratable-devices', 'every device can migrate');
  if (!live)
    return pass('unmigratable-devices', `${reasons.length === 1 ? 'a device' : `${reasons.length} devices`} that cannot migrate live: allowed offline`);
  return fail(
    'unmigratable-devices',
    reasons.join('; '),
    "Shut the domain down and migrate it offline (ferry migrate --offline --persistent); a <shmem> migrates live with role='master' (one master per shared memory) on a KVM host",
  );
}

export function clockCheck(reply: PreflightReply, t0: number, t3: number, maxOffsetMs: number): CheckResult {
  const offset = Math.round((reply.t1 - t0 + (reply.t2 - t3)) / 2);
  const rtt = Math.max(0, t3 - t0 - (reply.t2 - reply.t1));
  const text = `offset ${offset > 0 ? '+' : ''}${offset} ms (±${Math.ceil(rtt / 2)} ms) against ${reply.hostname}`;
  if (Math.abs(offset) - rtt / 2 > maxOffsetMs) {
    return fail('clock', `${text}, more than ${maxOffsetMs} ms`, 'Sync both hosts to the same NTP or PTP servers (chrony), as the seed requires', true);
  }
  return pass('clock', text, true);
}

export async function nameCheck(reply: PreflightReply, resolver: CachedResolver): Promise<CheckResult> {
  const r = await resolver.resolve(reply.hostname);
  if (r.addresses.length === 0) {
    return fail(
      'name-resolution',
      `the destination's name '${reply.hostname}' does not resolve on this host`,
      `Add ${reply.hostname} to DNS; check with "host ${reply.hostname}"`,
      true,
    );
  }
  if (!r.addresses.some((a) => isOwnAddress(a, reply.addresses))) {
    return fail(
      'name-resolution',
      `'${reply.hostname}' resolves to ${r.addresses.join(', ')}, none of which is an address of the destination`,
      'Fix the DNS record so the name points at the destination',
      true,
    );
  }
  if (!r.dns) {
    return warn(
      'name-resolution',
      `'${reply.hostname}' resolves only through /etc/hosts`,
      'Use DNS for host names, as the seed advises; /etc/hosts entries drift between hosts',
      true,
    );
  }
  return pass('name-resolution', `'${reply.hostname}' resolves to ${r.addresses.join(', ')}`, true);
}

/** Can this host reach the port the destination opened? (Without one, the destination's own check says why.) */
/** Can this host open the destination's migration port, at the host the data will go to (migrationDataHost())? */
export async function portReachable(reply: PreflightReply, dataHost: (advertised: string | undefined) => string): Promise<CheckResult | undefined> {
  if (!reply.probe) return undefined;
  const host = dataHost(reply.probe.connectHost);
  const ok = await canConnect(host, reply.probe.port, 3000);
  if (!ok)
    return fail(
      'migration-ports',
      `${host}:${reply.probe.port} on the destination is not reachable from this host`,
      "Open the migration port range (49152-49215) in the destination's firewall, or use --listen-address/--migrateuri on a reachable network",
    );
  return pass('migration-ports', `${host}:${reply.probe.port} is free and reachable`);
}

export async function jobsCheck(vm: RunningDomain | undefined, migrating: boolean, blockJob: boolean): Promise<CheckResult> {
  if (migrating) return fail('leases', 'the domain is already migrating', 'Wait for it ("ferry domjobinfo"), or abort it ("ferry domjobabort")');
  if (blockJob) return fail('leases', 'a block job (copy) runs on the domain', 'Finish or abort it first ("ferry blockjob <domain> <disk> --abort")');
  if (vm) {
    const jobs = await new BlockMonitor(vm.monitor).jobs().catch(() => []);
    if (jobs.length > 0) return fail('leases', `block job ${jobs[0]?.device} runs on the domain`, 'Let it finish or abort it first');
  }
  return pass('leases', 'no other job on the domain');
}

export async function blockersCheck(vm: RunningDomain | undefined): Promise<CheckResult> {
  if (!vm) return pass('qemu-blockers', 'the domain is not running');
  const info = await new MigrationMonitor(vm.monitor).query().catch(() => undefined);
  const reasons = info?.['blocked-reasons'] ?? [];
  // virtio-9p blocks migration while the guest has the export mounted (QEMU cannot move the guest's open files).
  const tags = reasons.flatMap((r) => /VirtFS export path .* mount_tag '([^']*)'/.exec(r)?.[1] ?? []);
  if (tags.length > 0) {
    return fail(
      'qemu-blockers',
      `the guest has filesystem ${tags.map((t) => `'${t}'`).join(', ')} mounted, and QEMU refuses to migrate a mounted 9p export: ${reasons.join('; ')}`,
      `Unmount it in the guest (umount) and migrate again, or shut the domain down and migrate it offline (ferry migrate --offline --persistent)`,
    );
  }
  if (reasons.length > 0) return fail('qemu-blockers', `QEMU refuses to migrate: ${reasons.join('; ')}`, 'Remove the device or feature QEMU names');
  return pass('qemu-blockers', 'QEMU reports no migration blocker');
}

export function tcgCheck(live: boolean, accel: 'kvm' | 'tcg', version: QemuVersion | undefined): CheckResult {
  if (live && accel === 'tcg' && version && compareVersions(version, TCG_MIGRATION_FIX) < 0) {
    return warn(
      'tcg-dirty-tracking',
      `QEMU ${formatVersion(version)} under TCG can lose guest memory writes during a live migration (fixed in QEMU 9.0 by commit 03bfc2188f)`,
      'Install QEMU 10.0 from bookworm-backports, or migrate without --live',
    );
  }
  return pass('tcg-dirty-tracking', accel === 'kvm' ? 'KVM tracks dirty memory' : `QEMU ${version ? formatVersion(version) : ''} has the TCG fix`);
}
