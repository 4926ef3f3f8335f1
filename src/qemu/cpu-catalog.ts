import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { FerryError } from '../errors/ferry-error.js';
import { setprivCommand } from '../system/setpriv.js';
import type { UnixAccount } from '../system/unix-user.js';
import type { CpuCatalog, CpuModelInfo } from '../shared/cpu-catalog.js';

type QmpReply = { return?: unknown; error?: { class: string; desc: string } };

/** The catalog from QEMU's own answers: query-cpu-definitions plus a static expansion of each model. */
export function catalogFromReplies(accel: 'kvm' | 'tcg', definitions: unknown, expansions: Map<string, unknown>): CpuCatalog {
  const hostModel = accel === 'kvm' ? 'host' : 'max';
  const models: CpuModelInfo[] = [];
  for (const d of definitions as Array<{ name: string; 'alias-of'?: string; 'unavailable-features'?: string[] }>) {
    if (d.name === 'host' || d.name === 'max' || d.name === 'base') continue;
    const m: CpuModelInfo = { name: d.name, unavailable: [...(d['unavailable-features'] ?? [])] };
    if (d['alias-of']) m.aliasOf = d['alias-of'];
    const exp = expansions.get(d.name);
    if (exp !== undefined) m.features = featuresOf(exp);
    models.push(m);
  }
  const host = expansions.get(hostModel);
  return { accel, hostModel, hostFeatures: host === undefined ? [] : featuresOf(host), models };
}

/** The features a query-cpu-model-expansion answer turns on (its boolean props that are true). */
export function featuresOf(expansion: unknown): string[] {
  const props = (expansion as { model?: { props?: Record<string, unknown> } }).model?.props ?? {};
  return Object.entries(props)
    .filter(([, v]) => v === true)
    .map(([k]) => k)
    .sort();
}

/**
 * Asks a QEMU binary for its CPU models under an accelerator: a QEMU with no
 * machine, spoken to over QMP on stdio, that quits when done (a fraction of a second).
 */
export async function probeCpuCatalog(o: { binary: string; accel: 'kvm' | 'tcg'; account?: UnixAccount | undefined; timeoutMs?: number }): Promise<CpuCatalog> {
  const cmd = setprivCommand(o.binary, ['-machine', 'none', '-accel', o.accel, '-nodefaults', '-no-user-config', '-display', 'none', '-qmp', 'stdio'], {
    account: o.account,
    dieWithParent: true,
  });
  const child = spawn(cmd.command, cmd.args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(reply: QmpReply) => void> = [];
  let failure: Error | undefined;
  const failAll = (err: Error): void => {
    failure ??= err;
    for (const w of waiting.splice(0)) w({ error: { class: 'GenericError', desc: failure.message } });
  };
  lines.on('line', (line) => {
    let msg: QmpReply & { QMP?: unknown; event?: string };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    if (msg.QMP !== undefined || msg.event !== undefined) return;
    waiting.shift()?.(msg);
  });
  child.on('error', (err) => failAll(err));
  child.on('exit', (code) => failAll(new Error(`QEMU exited (${code ?? 'signal'})${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`)));
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
  const ask = (execute: string, args?: Record<string, unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      waiting.push((reply) => (reply.error ? reject(new Error(`${execute}: ${reply.error.desc}`)) : resolve(reply.return)));
      child.stdin.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
    });
  try {
    await ask('qmp_capabilities');
    const definitions = (await ask('query-cpu-definitions')) as Array<{ name: string; 'alias-of'?: string }>;
    const expansions = new Map<string, unknown>();
    const hostModel = o.accel === 'kvm' ? 'host' : 'max';
    for (const name of [
      hostModel,
      ...definitions.filter((d) => !d['alias-of'] && d.name !== 'host' && d.name !== 'max' && d.name !== 'base').map((d) => d.name),
    ]) {
      expansions.set(name, await ask('query-cpu-model-expansion', { type: 'static', model: { name } }));
    }
    const catalog = catalogFromReplies(o.accel, definitions, expansions);
    await ask('quit').catch(() => undefined);
    return catalog;
  } catch (err) {
    throw new FerryError('QEMU_LAUNCH_FAILED', `QEMU ${o.binary} did not report its CPU models: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
    lines.close();
  }
}
