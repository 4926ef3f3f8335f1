import { DomainStatsReader, type StatsGroup } from '../host/domain-stats.js';
import type { HostService } from '../host/host-service.js';
import type { LockdClient } from '../locking/lockd-client.js';
import { isActiveState } from '../shared/domain-state.js';
import type { MetricSources } from './ferry-metrics.js';

const RUNNING_GROUPS: StatsGroup[] = ['cpu-total', 'balloon', 'vcpu', 'interface', 'block'];

/** What a scrape reads on a real daemon: every domain (counters of the running ones, each read at once) and lockd. */
export function daemonMetricSources(deps: { host: HostService; lockd: LockdClient | undefined }): MetricSources {
  const reader = new DomainStatsReader(deps.host);
  const lockd = deps.lockd;
  return {
    async domains() {
      return Promise.all(
        deps.host.list({ all: true }).map(async (d) => {
          // A domain whose QEMU does not answer keeps its state in the scrape; its counters are left out.
          const stats = isActiveState(d.state)
            ? await reader.collect(d, RUNNING_GROUPS).catch(() => ({ name: d.name, uuid: d.uuid }))
            : { name: d.name, uuid: d.uuid };
          return { state: d.state, stats };
        }),
      );
    },
    ...(lockd
      ? {
          async lockd() {
            try {
              return { up: true, leases: await lockd.probe() };
            } catch {
              return { up: false, leases: 0 };
            }
          },
        }
      : {}),
  };
}
