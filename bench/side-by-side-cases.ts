/**
 * The cases of issue 15's benchmark, on a 1 GiB guest rewriting a 512 MiB working set: each
 * tool's flags for it. ferry runs its default policy (auto); where virsh gets a flag ferry
 * has too, ferry gets it with `--policy auto` (without --policy those flags mean "manual",
 * virsh's behaviour). Only virsh gets an operator's `migrate-postcopy`: under ferry's policy,
 * the switch is the policy's to make. `cap-100-max-downtime-50` is ferry's downtime promise
 * (`--max-downtime 50`); virsh has no such flag (its migrate-setmaxdowntime is QEMU's target, not a
 * promise), so libvirt runs that case as the plain capped one.
 */
export interface SideBySideCase {
  name: string;
  /** The guest's dirty rate, MiB/s (ferry-load's ferry.dirty). */
  dirty: number;
  virsh: string[];
  ferry: string[];
  /** virsh migrate-postcopy this many seconds into the migration. */
  postcopyAfterS?: number;
}

export function sideBySideCases(postcopyAfterS: number): SideBySideCase[] {
  const cap = ['--bandwidth', '100'];
  return [
    { name: 'idle', dirty: 0, virsh: [], ferry: [] },
    { name: 'dirty-100', dirty: 100, virsh: [], ferry: [] },
    { name: 'dirty-150-cap-100', dirty: 150, virsh: cap, ferry: cap },
    { name: 'cap-100-auto-converge', dirty: 150, virsh: [...cap, '--auto-converge'], ferry: [...cap, '--policy', 'auto', '--auto-converge'] },
    { name: 'cap-100-postcopy', dirty: 150, virsh: [...cap, '--postcopy'], ferry: [...cap, '--policy', 'auto', '--postcopy'], postcopyAfterS },
    { name: 'cap-100-max-downtime-50', dirty: 150, virsh: cap, ferry: [...cap, '--max-downtime', '50'] },
  ];
}
