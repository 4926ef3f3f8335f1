import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Lab } from '../../lab/lab.js';
import { vmAddress } from '../../lab/plan.js';
import type { CliResult } from './ferryd.js';
import { guestXml, type GuestXmlOptions, REPO_ROOT } from './guest.js';
import { waitHeartbeats } from './heartbeat.js';
import { eventually } from './processes.js';

const FERRY = `${REPO_ROOT}bin/ferry`;

function collect(cmd: string, argv: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** `ferry ARGS` typed on a lab host (its namespaces, its default socket, its /root/.ssh), as an operator logged in there. */
export function ferryOnHost(lab: Lab, host: string, ...args: string[]): Promise<CliResult> {
  const [cmd, argv] = lab.onHostArgv(lab.host(host), process.execPath, FERRY, ...args);
  return collect(cmd, argv);
}

/** `ferry ARGS` typed on the switch: an operator's workstation on the management network. */
export function ferryOnSwitch(lab: Lab, ...args: string[]): Promise<CliResult> {
  return collect('ip', ['netns', 'exec', lab.plan.switchNs, process.execPath, FERRY, ...args]);
}

/** Like ferryOnHost(), failing with the CLI's stderr when it does not succeed. */
export async function okOnHost(lab: Lab, host: string, ...args: string[]): Promise<string> {
  const r = await ferryOnHost(lab, host, ...args);
  if (r.code !== 0) throw new Error(`ferry ${args.join(' ')} on ${host} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function labSerialLog(lab: Lab, host: string, name: string): string {
  try {
    return readFileSync(`${lab.host(host).stateDir}/log/${name}-serial0.log`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Defines and starts a test guest on a lab host with a virtio NIC on br1 and
 * the k-th VM address; resolves once it answers ping from the switch.
 */
export async function bootLabGuest(lab: Lab, host: string, k: number, o: GuestXmlOptions & { mac: string }): Promise<string> {
  const ip = vmAddress(lab.plan, k);
  const file = `${lab.plan.sharedDir}/${o.name}.xml`;
  writeFileSync(
    file,
    guestXml({
      ...o,
      extraCmdline: `${o.extraCmdline ?? ''} ferry.ip=${ip}/24`.trim(),
      devices: `${o.devices ?? ''}<interface type='bridge'><mac address='${o.mac}'/><source bridge='br1'/><model type='virtio'/></interface>`,
    }),
  );
  await okOnHost(lab, host, 'define', file);
  await okOnHost(lab, host, 'start', o.name);
  await waitHeartbeats(() => labSerialLog(lab, host, o.name), 2, { timeoutMs: 90_000 });
  await waitPingable(lab, ip, o.name);
  return ip;
}

/** Waits until `ip` answers a ping from the lab's switch (`what` names it in the timeout's message). */
export async function waitPingable(lab: Lab, ip: string, what: string): Promise<void> {
  await eventually(
    () => {
      try {
        lab.onSwitch('ping', '-c', '1', '-W', '1', ip);
        return true;
      } catch {
        return false;
      }
    },
    `${what} answering ping at ${ip}`,
    30_000,
  );
}
