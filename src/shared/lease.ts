// Disk leases as ferryd, ferry-lockd, the peer protocol and the CLI see them. The types are their schemas' (Static).
import { closed, integer, nonEmpty, num, oneOf, record, type Static, str, text } from './typed-schema.js';

/** One disk lease: a resource locked for a domain, exclusively or shared (the destination takes them at Finish). */
export const leaseSchema = closed({
  /**
   * The lockspace resource: the lock file's path for the fcntl lockspace
   * (the image itself, or DIR/<sha256 of the path>, or DIR/<volume uuid>),
   * or a key name for etcd.
   */
  resource: nonEmpty(),
  /** What an error names: the disk path, or the hash / uuid the resource is named by. */
  label: str(),
  mode: oneOf(['exclusive', 'shared']),
  /** The disk it protects (vda), for lock-list. */
  disk: str(),
  /** The disk's path on this host. */
  path: str(),
});
export type Lease = Static<typeof leaseSchema>;

/** Who holds leases: a domain and the process that has its disks open (its pid: the QEMU process, until it exists ferryd's own). */
export const leaseOwnerSchema = record({ uuid: text(), name: text(), pid: integer() });
export type LeaseOwner = Static<typeof leaseOwnerSchema>;

/** A lease as lockd reports it (lock-list, GET /v1/locks): the lease's fields, its owner, the host and since when. */
export const heldLeaseSchema = record({
  ...leaseSchema.properties,
  owner: leaseOwnerSchema,
  host: text(),
  since: num('When it was taken (ms since the epoch)'),
});
export type HeldLease = Static<typeof heldLeaseSchema>;
