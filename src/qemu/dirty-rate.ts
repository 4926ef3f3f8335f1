import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../errors/ferry-error.js';
import type { QemuMonitor } from './monitor.js';

/** How QEMU measures (qapi/migration.json DirtyRateMeasureMode). */
export type DirtyRateMode = 'page-sampling' | 'dirty-ring' | 'dirty-bitmap';

/** query-dirty-rate's reply (DirtyRateInfo), the fields ferry reads. */
export interface QemuDirtyRateInfo {
  status: 'unstarted' | 'measuring' | 'measured';
  /** MiB/s (QEMU shifts bytes by 20), present once measured. */
  'dirty-rate'?: number;
  'calc-time': number;
  'calc-time-unit'?: 'second' | 'millisecond';
  'sample-pages': number;
  mode: DirtyRateMode;
  'start-time': number;
}

export interface DirtyRateMeasurement {
  bytesPerSec: number;
  mode: DirtyRateMode;
  /** How long QEMU measured, in ms (it reports the window it really took, which can exceed the one asked for). */
  windowMs: number;
  /** Pages sampled per GiB (page-sampling only). */
  samplePages?: number;
}

export interface MeasureOptions {
  /** The window, in ms; QEMU accepts 50 to 60000. */
  windowMs: number;
  mode: DirtyRateMode;
  /** Pages sampled per GiB of guest RAM under page-sampling (QEMU: 128 to 16384, default 512). */
  samplePages?: number;
  /** How often to ask whether the measurement is done, once the window has passed. Default 25 ms. */
  pollMs?: number;
  /** Give up after this long past the window (QEMU has no way to cancel a measurement). Default 10 s. */
  graceMs?: number;
  signal?: AbortSignal;
}

/** A measurement whose window QEMU reports this many times longer than asked is made again, once (see measure()). */
export const STRETCHED_WINDOW_FACTOR = 2;

/** QEMU's limits on calc-dirty-rate (migration/dirtyrate.c). */
export const DIRTY_RATE_WINDOW_MS = { min: 50, max: 60_000 } as const;
export const SAMPLE_PAGES = { min: 128, max: 16_384 } as const;

const MiB = 1024 * 1024;

/** The mode that fits how QEMU runs the guest: page sampling under TCG, the dirty ring under KVM when it has one, else the dirty bitmap. */
export function dirtyRateModeFor(accel: 'kvm' | 'tcg' | undefined, dirtyRingSize: number | undefined): DirtyRateMode {
  if (accel !== 'kvm') return 'page-sampling';
  return dirtyRingSize ? 'dirty-ring' : 'dirty-bitmap';
}

/**
 * The guest's dirty rate as QEMU measures it (calc-dirty-rate, then
 * query-dirty-rate until 'measured'), QEMU 8.2 – 10.0. One measurement runs
 * at a time in a QEMU: one already under way (another client's) is waited
 * for, then ours starts.
 */
export class DirtyRateMonitor {
  constructor(private readonly monitor: QemuMonitor) {}

  async measure(o: MeasureOptions): Promise<DirtyRateMeasurement> {
    const windowMs = Math.round(o.windowMs);
    if (!(windowMs >= DIRTY_RATE_WINDOW_MS.min && windowMs <= DIRTY_RATE_WINDOW_MS.max)) {
      throw new RangeError(`Dirty rate window must be between ${DIRTY_RATE_WINDOW_MS.min} and ${DIRTY_RATE_WINDOW_MS.max} ms, got ${o.windowMs}`);
    }
    // A QEMU that goes away (a migration that ended, a domain shut down) ends the wait at once.
    const gone = new AbortController();
    const detach = this.monitor.onDisconnect(() => gone.abort());
    try {
      const signal = o.signal ? AbortSignal.any([o.signal, gone.signal]) : gone.signal;
      const first = await this.measureOn({ ...o, windowMs, signal });
      // QEMU's window starts before it hashes the sampled pages and compares them as soon as the window is over: when
      // the hashing outlasts the window (16384 pages a GiB, first read of pages QEMU never touched, a busy host), the
      // pages hashed last had almost no time to change and the rate reads low (6 MiB/s for a guest writing 150, in an
      // 1183 ms "100 ms" window). Once more, then: the pages are resident and the hashing quick.
      if (first.windowMs <= STRETCHED_WINDOW_FACTOR * windowMs) return first;
      const again = await this.measureOn({ ...o, windowMs, signal });
      return again;
    } catch (err) {
      if (gone.signal.aborted && !(o.signal?.aborted ?? false)) {
        throw new FerryError('QMP_DISCONNECTED', 'operation failed: QEMU monitor connection closed while measuring the dirty rate', { cause: err });
      }
      throw err;
    } finally {
      detach();
    }
  }

  private async measureOn(o: MeasureOptions & { signal: AbortSignal }): Promise<DirtyRateMeasurement> {
    const windowMs = o.windowMs;
    const pollMs = o.pollMs ?? 25;
    const deadline = Date.now() + windowMs + (o.graceMs ?? 10_000);
    const args: Record<string, unknown> = { 'calc-time': windowMs, 'calc-time-unit': 'millisecond', mode: o.mode };
    if (o.mode === 'page-sampling' && o.samplePages !== undefined) args['sample-pages'] = clamp(Math.round(o.samplePages), SAMPLE_PAGES);
    const mode = await this.start(args, { pollMs, deadline, signal: o.signal });
    // QEMU resets the state to 'unstarted' before calc-dirty-rate returns, so no earlier 'measured' is read as ours.
    await sleep(windowMs, undefined, { signal: o.signal });
    for (;;) {
      const info = await this.query();
      if (info.status === 'measured') {
        if (info.mode !== mode || info['dirty-rate'] === undefined || info['dirty-rate'] < 0) {
          throw new FerryError('QEMU_DIRTY_RATE_FAILED', `internal error: QEMU's dirty rate measurement (${mode}) ended without a rate`, {
            details: { info },
          });
        }
        return {
          bytesPerSec: info['dirty-rate'] * MiB,
          mode: info.mode,
          windowMs: info['calc-time-unit'] === 'second' ? info['calc-time'] * 1000 : info['calc-time'],
          ...(info.mode === 'page-sampling' ? { samplePages: info['sample-pages'] } : {}),
        };
      }
      if (Date.now() > deadline) throw timedOut(windowMs);
      await sleep(pollMs, undefined, { signal: o.signal });
    }
  }

  query(): Promise<QemuDirtyRateInfo> {
    return this.monitor.call<QemuDirtyRateInfo>('query-dirty-rate', { 'calc-time-unit': 'millisecond' });
  }

  /**
   * calc-dirty-rate; when a measurement is already under way, waits for it to end and starts ours. A KVM guest
   * without a dirty ring is measured with the dirty bitmap instead. Returns the mode QEMU measures with.
   */
  private async start(args: Record<string, unknown>, o: { pollMs: number; deadline: number; signal?: AbortSignal }): Promise<DirtyRateMode> {
    for (;;) {
      try {
        await this.monitor.call('calc-dirty-rate', args);
        return args['mode'] as DirtyRateMode;
      } catch (err) {
        if (!(err instanceof FerryError)) throw err;
        if (args['mode'] === 'dirty-ring' && /dirty-ring is not enabled/.test(err.message)) {
          args['mode'] = 'dirty-bitmap';
          continue;
        }
        if (!/already being measured/.test(err.message)) throw err;
      }
      if (Date.now() > o.deadline) throw timedOut(args['calc-time'] as number);
      await sleep(o.pollMs, undefined, o.signal ? { signal: o.signal } : {});
    }
  }
}

function clamp(v: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, v));
}

function timedOut(windowMs: number): FerryError {
  return new FerryError('QEMU_DIRTY_RATE_FAILED', `Timed out during operation: QEMU did not finish measuring the dirty rate (a ${windowMs} ms window)`);
}
