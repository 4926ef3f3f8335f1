/** The pre-flight checks, in the order they are reported: their ids travel in the peer protocol and the API. */
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
