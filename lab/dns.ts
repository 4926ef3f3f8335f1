import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPlan } from './plan.js';
import { nsArgv } from './run.js';

/**
 * A DNS server on the switch (dnsmasq) that answers for every host's name
 * with its management address: the seed wants names in DNS, not /etc/hosts.
 */
export function startDns(plan: LabPlan): number {
  const records = plan.hosts.map((h) => `--host-record=${h.name},${h.name}.lab,${h.mgmtAddress}`);
  const log = openSync(join(plan.dir, 'dnsmasq.log'), 'a');
  const [cmd, args] = nsArgv(
    plan.switchNs,
    'dnsmasq',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--conf-file=/dev/null',
    `--listen-address=${plan.switchMgmtAddress}`,
    '--bind-interfaces',
    '--pid-file',
    '--log-facility=-',
    ...records,
  );
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  return child.pid as number;
}
