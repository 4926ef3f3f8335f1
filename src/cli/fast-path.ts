import { READONLY_HEADER } from '../shared/protocol.js';
import { readonlySocketOf } from '../transport/connection-uri.js';
import { oneShotRequest } from '../transport/one-shot-http.js';
import { LIST_FLAGS, type ListedDomain, type ListOptions, listPath, renderList } from './commands/list-domains.js';
import { chooseUri, parseUri } from './uri.js';

/** The global options the fast path understands, as the full CLI spells them (main.ts). */
interface GlobalOptions {
  connect?: string;
  readonly: boolean;
  quiet: boolean;
}

/** A command the fast path runs: the verb's options, the GET it makes, and how it prints the reply. */
interface FastCommand {
  path: string;
  render: (reply: unknown, quiet: boolean) => string;
}

/** `--state-running` → `stateRunning`, as commander names an option's value. */
function camelCase(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const LIST_OPTION_NAMES = new Map<string, string>(LIST_FLAGS.map(([flag]) => [flag, camelCase(flag)]));

/**
 * Splits argv into global options, the verb and its flags, when every token is one the fast path knows: global
 * options (-c URI, --connect URI, --connect=URI, -r, --readonly, -q, --quiet) before the verb, then only the verb's
 * boolean flags. Anything else (--help, a positional argument, `--`, an unknown or abbreviated option, a global
 * option after the verb) is left to the full CLI: undefined.
 */
export function parseFastArgs(args: readonly string[]): { global: GlobalOptions; command: FastCommand } | undefined {
  const global: GlobalOptions = { readonly: false, quiet: false };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-r' || a === '--readonly') global.readonly = true;
    else if (a === '-q' || a === '--quiet') global.quiet = true;
    else if (a === '-c' || a === '--connect') {
      const uri = args[++i];
      if (uri === undefined || uri.startsWith('-')) return undefined;
      global.connect = uri;
    } else if (a.startsWith('--connect=')) global.connect = a.slice('--connect='.length);
    else break;
  }
  if (global.connect === '') return undefined;
  if (args[i] !== 'list') return undefined;
  const opts: Record<string, boolean> = {};
  for (const a of args.slice(i + 1)) {
    const name = LIST_OPTION_NAMES.get(a);
    if (name === undefined) return undefined;
    opts[name] = true;
  }
  const list = opts as ListOptions;
  return { global, command: { path: listPath(list), render: (reply, quiet) => renderList((reply as { domains: ListedDomain[] }).domains, list, quiet) } };
}

/**
 * The CLI's fast path, for what runbooks and shell completion run in loops (`ferry list --all`, `ferry list
 * --name`): no commander, no verb modules, one GET over the daemon's unix socket, the reply printed as the full
 * CLI prints it (the same code: commands/list-domains.ts). It prints nothing unless it succeeds: for any other
 * command line, a remote URI, a connection that fails or an error reply it returns undefined, and the full CLI
 * runs the command (again, for a failure), so errors keep their one wording. FERRY_CLI_FAST_PATH=0 turns it off.
 */
export async function runFastPath(args: readonly string[], env: NodeJS.ProcessEnv, out: (text: string) => void): Promise<number | undefined> {
  if (env.FERRY_CLI_FAST_PATH === '0') return undefined;
  const parsed = parseFastArgs(args);
  if (!parsed) return undefined;
  const { global, command } = parsed;
  let text: string;
  try {
    const target = parseUri(chooseUri({ ...(global.connect ? { connect: global.connect } : {}), env, readonly: global.readonly }).uri);
    if (target.transport !== 'unix') return undefined;
    const socketPath = global.readonly && !target.socketGiven ? readonlySocketOf(target.socket) : target.socket;
    const reply = await oneShotRequest(
      { socketPath, secure: false },
      { method: 'GET', path: command.path, headers: global.readonly ? { [READONLY_HEADER]: '1' } : {} },
    );
    if (reply.status !== 200) return undefined;
    text = command.render(JSON.parse(reply.body.toString('utf8')), global.quiet);
  } catch {
    return undefined;
  }
  out(text);
  return 0;
}
