import type { FerrydHost } from '../helpers/ferryd.js';
import { eventually } from '../helpers/processes.js';
import type { StoredMigration } from '../helpers/store-watch.js';
import type { Fault } from './faults.js';
import type { FaultRig } from './rig.js';

/** One migration of a trial: from the host the guest runs on to the other, started at t0. */
export interface MigrationUnderTest {
  rig: FaultRig;
  src: FerrydHost;
  dst: FerrydHost;
  t0: number;
}

/**
 * A moment of a migration where a fault strikes (issue 16). `reach` returns once the migration is there with
 * the source's ferryd frozen (SIGSTOP), so the moment holds while the fault is injected; it throws when the
 * migration went past the moment before it could be held (the trial is then not counted).
 */
export interface Moment {
  name: string;
  /** `ferry migrate` flags besides the domain and destination. */
  flags: string[];
  reach: (m: MigrationUnderTest) => Promise<void>;
  /** Why a fault cannot strike at this moment (a process that does not exist yet), if so. */
  notApplicable?: (f: Fault) => string | undefined;
}

const BASE = ['--live', '--persistent', '--undefinesource', '--policy', 'manual'];
/** Slow enough to act during a pass: ~6 s for the first, then ~1.5 s (the guest rewrites 8 MiB/s of 96). */
const SLOW = [...BASE, '--bandwidth', '32'];

function newest(m: MigrationUnderTest, h: FerrydHost, side: 'source' | 'destination'): StoredMigration | undefined {
  const rec = m.rig.store(h).latest(m.rig.uuid, side);
  return rec && rec.startedAt >= m.t0 ? rec : undefined;
}

/** Freezes the source's ferryd and checks it is still at `phase` (one of them). */
function hold(m: MigrationUnderTest, ...phases: string[]): void {
  m.rig.freeze(m.src);
  const now = newest(m, m.src, 'source')?.phase;
  if (now === undefined || !phases.includes(now)) {
    m.rig.thaw(m.src);
    throw new Error(`missed the moment: the source is in ${now ?? 'no migration'}, not ${phases.join(' or ')}`);
  }
}

async function atSourcePhase(m: MigrationUnderTest, phase: string): Promise<void> {
  await m.rig.store(m.src).waitFor(() => newest(m, m.src, 'source')?.phase === phase || undefined, `the source records ${phase}`);
  hold(m, phase);
}

/** QEMU's pass as domjobinfo shows it (Iteration), once memory moves. */
async function atPass(m: MigrationUnderTest, atLeast: number): Promise<void> {
  await eventually(
    async () => {
      const job = (await m.src.ferry('domjobinfo', m.rig.name)).stdout;
      const pass = Number(/^Iteration: +(\d+)$/m.exec(job)?.[1] ?? 0);
      return /^Data processed: +[1-9]/m.test(job) && pass >= atLeast;
    },
    `pass ${atLeast} under way`,
    60_000,
  );
  hold(m, 'Perform');
}

const noDestinationYet = (f: Fault): string | undefined =>
  f.kind === 'process' && f.side === 'destination' && f.target === 'qemu' ? 'the destination has no QEMU before Prepare' : undefined;

/** Without post-copy the stream has ended when the source enters Finish: nothing is left to cut or stall. */
const streamEnded = (f: Fault): string | undefined =>
  f.kind === 'network' && f.link === 'migration' ? 'the migration stream has ended before Finish' : undefined;

export const MOMENTS: Moment[] = [
  { name: 'begin', flags: BASE, reach: (m) => atSourcePhase(m, 'Begin'), notApplicable: noDestinationYet },
  {
    name: 'prepare',
    flags: BASE,
    reach: async (m) => {
      // The destination listening for the stream: its Prepare is done, the source waits for the answer.
      await m.rig.store(m.dst).waitFor(() => newest(m, m.dst, 'destination')?.data.port !== undefined || undefined, 'the destination listens');
      hold(m, 'Prepare');
    },
  },
  { name: 'perform-early', flags: SLOW, reach: (m) => atPass(m, 1) },
  { name: 'perform-late', flags: SLOW, reach: (m) => atPass(m, 2) },
  {
    name: 'postcopy',
    // Post-copy capped at 8 MiB/s: the ~100 MiB left take over 10 s, while the guest runs on the destination.
    flags: [...SLOW, '--postcopy', '--postcopy-bandwidth', '8'],
    reach: async (m) => {
      await eventually(async () => /^Data processed: +[1-9]/m.test((await m.src.ferry('domjobinfo', m.rig.name)).stdout), 'memory on its way', 60_000);
      await m.src.ok('migrate-postcopy', m.rig.name);
      const state = async (): Promise<string> => (await m.dst.ferry('domstate', '--reason', m.rig.name)).stdout.trim();
      await eventually(async () => (await state()) === 'running (post-copy)', 'the guest runs on the destination in post-copy', 60_000);
      // The destination resumed the guest (Finish) while the pages still flow: the source is in Perform or Finish.
      hold(m, 'Perform', 'Finish');
    },
  },
  { name: 'finish', flags: BASE, reach: (m) => atSourcePhase(m, 'Finish'), notApplicable: streamEnded },
  { name: 'confirm', flags: BASE, reach: (m) => atSourcePhase(m, 'Confirm'), notApplicable: streamEnded },
];
