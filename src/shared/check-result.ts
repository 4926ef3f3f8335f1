/** The pre-flight checks, in the order they are reported. */
export const CHECKS = {
  storage: 'Storage',
  'unmanaged-storage': 'Unmanaged disks',
  networks: 'Networks and bridges',
  'qemu-version': 'QEMU version',
  'machine-type': 'Machine type',
  firmware: 'UEFI firmware',
  clock: 'Clock',
  'name-resolution': 'Name resolution',
  'cache-mode': 'Disk cache mode',
  'host-devices': 'Host devices',
  'unmigratable-devices': 'Devices that cannot migrate',
  cpu: 'CPU',
  resources: 'Memory and vCPUs',
  hugepages: 'Huge pages',
  pinning: 'CPU pinning and NUMA nodes',
  'migration-ports': 'Migration ports',
  tls: 'TLS certificates',
  leases: 'Leases and jobs',
  'qemu-blockers': 'QEMU migration blockers',
  'tcg-dirty-tracking': 'TCG dirty tracking',
  tpm: 'TPM emulator',
  'dbus-display': 'D-Bus display bus',
  vsock: 'vsock guest CID',
  secrets: 'Secrets',
  'smartcard-database': 'Smartcard certificate databases',
} as const;

export type CheckId = keyof typeof CHECKS;
export type CheckOutcome = 'pass' | 'warn' | 'fail';

/** One check's verdict: a one-line reason and, unless it passed, how to fix it. */
export interface CheckResult {
  id: CheckId;
  outcome: CheckOutcome;
  reason: string;
  hint?: string;
  /** --unsafe turns a failure of this check into a warning (never for leases). */
  overridable: boolean;
}

export const pass = (id: CheckId, reason: string, overridable = false): CheckResult => ({ id, outcome: 'pass', reason, overridable });
export const warn = (id: CheckId, reason: string, hint: string, overridable = false): CheckResult => ({ id, outcome: 'warn', reason, hint, overridable });
export const fail = (id: CheckId, reason: string, hint: string, overridable = false): CheckResult => ({ id, outcome: 'fail', reason, hint, overridable });

/** Applies --unsafe: overridable failures become warnings. */
export function applyUnsafe(results: CheckResult[], unsafe: boolean): CheckResult[] {
  if (!unsafe) return results;
  return results.map((r) => (r.outcome === 'fail' && r.overridable ? { ...r, outcome: 'warn' as const, reason: `${r.reason} (allowed by --unsafe)` } : r));
}

/** Reports ordered as CHECKS lists them. */
export function sortResults(results: CheckResult[]): CheckResult[] {
  const order = Object.keys(CHECKS);
  return [...results].sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
}
