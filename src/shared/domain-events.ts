import type { DomainState } from './domain-state.js';
import type { JobInfo } from './job-info.js';

/** What ferryd tells its API listeners about domains (server-sent events). */
export type DomainEvent =
  | { type: 'domain.defined'; uuid: string; name: string; at: number }
  | { type: 'domain.undefined'; uuid: string; name: string; at: number }
  | { type: 'domain.lifecycle'; uuid: string; name: string; state: DomainState; reason: string; at: number }
  | { type: 'domain.panicked'; uuid: string; name: string; info: Record<string, unknown> | undefined; at: number }
  | { type: 'domain.watchdog'; uuid: string; name: string; action: string; at: number }
  | { type: 'domain.lockfailure'; uuid: string; name: string; resource: string; action: 'poweroff' | 'restart' | 'pause' | 'ignore'; at: number }
  | { type: 'migration.phase'; id: string; uuid: string; name: string; side: 'source' | 'destination'; from: string; to: string; at: number }
  | { type: 'migration.progress'; id: string; uuid: string; name: string; job: JobInfo; at: number }
  /** A policy step (docs/policies.md): the downtime ramp, a throttle, a pause, post-copy, an abort, or a missed downtime promise. */
  | { type: 'migration.step'; id: string; uuid: string; name: string; policy: string; step: string; reason: string; pass: number; at: number }
  | { type: 'blockjob.progress'; uuid: string; name: string; disk: string; kind: 'copy'; offset: number; len: number; ready: boolean; at: number };
