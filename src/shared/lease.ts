/** One disk lease: a resource locked for a domain, exclusively or shared. */
export interface Lease {
  /**
   * The lockspace resource: the lock file's path for the fcntl lockspace
   * (the image itself, or DIR/<sha256 of the path>, or DIR/<volume uuid>),
   * or a key name for etcd.
   */
  resource: string;
  /** What an error names: the disk path, or the hash / uuid the resource is named by. */
  label: string;
  mode: 'exclusive' | 'shared';
  /** The disk it protects (vda), for lock-list. */
  disk: string;
  /** The disk's path on this host. */
  path: string;
}

/** Who holds leases: a domain and the process that has its disks open. */
export interface LeaseOwner {
  uuid: string;
  name: string;
  /** The QEMU process; until it exists, ferryd's own pid. */
  pid: number;
}

/** A lease as lockd reports it (lock-list). */
export interface HeldLease extends Lease {
  owner: LeaseOwner;
  host: string;
  since: number;
}
