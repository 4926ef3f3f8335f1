import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { AppendLogRotator } from '../system/log-rotation.js';
import type { CharSource, DomainDefinition } from '../vm/definition.js';
import { isActiveState } from '../shared/domain-state.js';
import type { HostPaths } from './host-paths.js';
import type { HostService } from './host-service.js';

export interface LogRotationLimits {
  /** Rotate a log once it reaches this many bytes (virtlogd's max_size); 0: never. */
  maxSize: number;
  /** Rotated files kept: NAME.1 ... NAME.n (virtlogd's max_backups). */
  maxBackups: number;
}

/**
 * The logs of a running domain that QEMU writes with O_APPEND, so they can be
 * rotated under it: the domain log (QEMU's stdout and stderr), each character
 * device's <log file> with append='on' (ferryd's own serial logs are), and
 * <source path> of type='file' with append='on'. A file QEMU opened without
 * O_APPEND is left alone: it writes at its own offset, so a file cut under
 * it would grow a hole up to that offset (docs/configuration.md#log-rotation).
 */
export function appendLogsOf(def: DomainDefinition, domainLog: string): string[] {
  const devices = def.devices as unknown as Record<string, CharSource[] | undefined>;
  const chars = ['serials', 'consoles', 'channels', 'parallels'].flatMap((k) => devices[k] ?? []);
  const files = [domainLog];
  for (const c of chars) {
    if (c.logFile && c.logAppend) files.push(c.logFile);
    if (c.type === 'file' && c.sourcePath && c.sourceAppend) files.push(c.sourcePath);
  }
  return [...new Set(files)];
}

/**
 * Checks the running domains' logs every `intervalMs` and rotates those past
 * max_size. The files stay QEMU's: a ferryd that is down (or restarting)
 * rotates nothing and loses nothing; the next check catches up.
 */
export class DomainLogRotation {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      host: HostService;
      paths: HostPaths;
      rotator: AppendLogRotator;
      limits: LogRotationLimits;
      intervalMs: number;
      log: Logger;
    },
  ) {}

  start(): void {
    if (this.deps.limits.maxSize <= 0) return;
    this.timer = setInterval(() => this.checkNow(), this.deps.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over the running domains; returns the files rotated. */
  checkNow(): string[] {
    const rotated: string[] = [];
    for (const d of this.deps.host.list()) {
      if (!isActiveState(d.state)) continue;
      const vm = this.deps.host.runningDomain(d.uuid);
      if (!vm) continue;
      for (const file of appendLogsOf(vm.def, this.deps.paths.domainLog(d.name))) {
        try {
          if (statSync(file).size < this.deps.limits.maxSize) continue;
          const r = this.deps.rotator.rotate(file, this.deps.limits.maxBackups);
          rotated.push(file);
          if (!r.lossless)
            this.deps.log.warn(
              { file },
              'log rotated by copy and truncate: this filesystem cannot cut the head of a file, so a line QEMU wrote meanwhile may be lost',
            );
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.log.warn({ err, file }, 'could not rotate the log');
        }
      }
    }
    return rotated;
  }
}
