/** One live migration as bench/libvirt-side-by-side.ts reports it, whichever tool ran it. */
export interface MigrationOutcome {
  completed: boolean;
  /** Why not, when it did not: "aborted after 30 s (domjobabort)", or the tool's error. */
  why?: string;
  /** The command's wall time (`virsh migrate` / `ferry migrate`), until it finished or was aborted. */
  totalS: number;
  /** The tool's own job time (libvirt's Time elapsed, ferry's QEMU total-time). */
  jobS?: number;
  downtimeMs?: number;
  /** Memory bytes QEMU sent (Data processed), by the end or by the abort. */
  bytes?: number;
  /** ferry: what it forecast before moving, and what its policy did. */
  forecast?: string;
  policyStep?: string;
}
