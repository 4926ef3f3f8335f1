/**
 * Raises a live migration's downtime limit only when the guest does not let
 * it converge (oVirt's "stalling" convergence schedules work this way).
 *
 * The migration starts at the first step. Each time QEMU starts a new pass,
 * the memory left to send is compared with the previous pass: a pass that
 * leaves at least `stallRatio` of it (the guest dirties about as fast as the
 * link sends) raises the limit one step. A guest that dirties little keeps
 * the short limit and pauses only for a short switch-over; a busy one
 * reaches the last step (the domain's max downtime) after a few stalled
 * passes and converges as it would have with it from the start.
 */
export class DowntimeSchedule {
  private step = 0;
  private pass = 0;
  private remaining = Number.POSITIVE_INFINITY;

  constructor(
    private readonly steps: number[],
    private readonly stallRatio = 0.9,
  ) {
    if (steps.length === 0) throw new Error('a downtime schedule needs at least one step');
  }

  get limit(): number {
    return this.steps[this.step] as number;
  }

  /**
   * One query-migrate sample: the pass QEMU is in (dirty-sync-count) and the
   * bytes it has left. Returns the new limit when it must be raised.
   */
  observe(pass: number, remaining: number): number | undefined {
    if (pass <= this.pass) return undefined;
    // The first pass sends all memory; comparisons start with the third against the second.
    const stalled = this.pass >= 2 && remaining >= this.stallRatio * this.remaining;
    this.pass = pass;
    this.remaining = remaining;
    if (!stalled || this.step >= this.steps.length - 1) return undefined;
    this.step++;
    return this.limit;
  }
}
