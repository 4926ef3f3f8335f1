import type { TypedPlugin } from '../schemas/typed-plugin.js';
import { type DomainStatsReader, STATS_GROUPS } from '../../host/domain-stats.js';
import { statsParams } from '../../host/domain-stats-params.js';
import { isActiveState } from '../../shared/domain-state.js';
import type { DomainSummary } from '../../shared/api-types.js';
import { arrayOf, closed, nonEmpty, oneOf, optional, str } from '../../shared/typed-schema.js';

/** virsh domstats' --list-* filters. */
export const STATS_FILTERS = ['active', 'inactive', 'persistent', 'transient', 'running', 'paused', 'shutoff', 'other'] as const;
type StatsFilter = (typeof STATS_FILTERS)[number];

function matches(d: DomainSummary, f: StatsFilter): boolean {
  switch (f) {
    case 'active':
      return isActiveState(d.state);
    case 'inactive':
      return !isActiveState(d.state);
    case 'persistent':
      return d.persistent;
    case 'transient':
      return !d.persistent;
    case 'running':
      return d.state === 'running';
    case 'paused':
      return d.state === 'paused';
    case 'shutoff':
      return d.state === 'shutoff';
    case 'other':
      return !['running', 'paused', 'shutoff'].includes(d.state);
  }
}

/** virsh domstats and domblkstat (domifstat and dommemstat have their own routes): parse and call DomainStatsReader. */
export function statsRoutes(reader: DomainStatsReader): TypedPlugin {
  return async function statsRoutesPlugin(app) {
    app.get(
      '/domain-stats',
      {
        schema: {
          querystring: closed({
            group: optional(arrayOf(oneOf(STATS_GROUPS))),
            domain: optional(arrayOf(nonEmpty())),
            filter: optional(arrayOf(oneOf(STATS_FILTERS))),
          }),
        },
      },
      async (req) => {
        const { group = [], domain = [], filter = [] } = req.query;
        // As libvirt's virDomainListGetStats: the --list-* filters apply to named domains too.
        const groups = group.length > 0 ? group : STATS_GROUPS;
        const domains = reader.domains(domain).filter((d) => filter.every((f) => matches(d, f)));
        const out = [];
        for (const d of domains) out.push({ name: d.name, params: statsParams(await reader.collect(d, groups)) });
        return { domains: out };
      },
    );

    app.get(
      '/domains/:ref/block-stats',
      {
        schema: {
          params: closed({ ref: nonEmpty() }),
          querystring: closed({ device: optional(str()) }),
        },
      },
      async (req) => ({ stats: await reader.blockStats(req.params.ref, req.query.device ?? '') }),
    );
  };
}
