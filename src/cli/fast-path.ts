import { READONLY_HEADER } from '../shared/protocol.js';
import type { DomainInfo } from '../shared/api-types.js';
import { readonlySocketOf } from '../transport/connection-uri.js';
import { oneShotRequest } from '../transport/one-shot-http.js';
import {
  DOMAIN_FIELD_VERBS,
  type DomainStateReply,
  domainInfoPath,
  domainStatePath,
  renderDomainField,
  renderDominfo,
  renderDomstate,
} from './commands/domain-info-format.js';
import { LIST_FLAGS, type ListedDomain, type ListOptions, listPath, renderList } from './commands/list-domains.js';
import type { FastPathVerb } from './fast-path-verbs.js';
import { chooseUri, parseUri } from './uri.js';

/** The global options the fast path understands, as the full CLI spells them (main.ts). */
interface GlobalOptions {
  connect?: string;
  readonly: boolean;
  quiet: boolean;
}

/** What one command line asks the daemon for, and how its reply is printed. */
interface FastRequest {
  path: string;
  render: (reply: unknown, quiet: boolean) => string;
}

/** A verb the fast path runs: its boolean flags (as declared for the full CLI), whether it names a domain, its request. */
interface FastVerb {
  flags: readonly string[];
  domain: boolean;
  request: (flags: Record<string, boolean>, domain: string) => FastRequest;
}

const domainField = (field: 'id' | 'name' | 'uuid'): FastVerb => ({
  flags: [],
  domain: true,
  request: (_, ref) => ({ path: domainInfoPath(ref), render: (r) => renderDomainField((r as { domain: DomainInfo }).domain, field) }),
});

/** The verbs (fast-path-verbs.ts names them) and what each takes: the same flags and output as its command. */
const FAST_VERBS: Record<FastPathVerb, FastVerb> = {
  list: {
    flags: LIST_FLAGS.map(([flag]) => flag),
    domain: false,
    request: (flags) => {
      const opts = flags as ListOptions;
      return { path: listPath(opts), render: (r, quiet) => renderList((r as { domains: ListedDomain[] }).domains, opts, quiet) };
    },
  },
  dominfo: {
    flags: [],
    domain: true,
    request: (_, ref) => ({ path: domainInfoPath(ref), render: (r) => renderDominfo((r as { domain: DomainInfo }).domain) }),
  },
  domstate: {
    flags: ['--reason'],
    domain: true,
    request: (flags, ref) => ({ path: domainStatePath(ref), render: (r) => renderDomstate(r as DomainStateReply, flags.reason === true) }),
  },
  ...(Object.fromEntries(DOMAIN_FIELD_VERBS.map(([verb, field]) => [verb, domainField(field)])) as Record<'domid' | 'domname' | 'domuuid', FastVerb>),
};

/** `--state-running` → `stateRunning`, as commander names an option's value. */
function camelCase(flag: string): string {
  return flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Splits argv into global options, the verb, its flags and its domain, when every token is one the fast path
 * knows: global options (-c URI, --connect URI, --connect=URI, -r, --readonly, -q, --quiet) before the verb, then
 * the verb's boolean flags and, for a verb that names a domain, one domain (positional, or --domain NAME). Anything
 * else (--help, `--`, an unknown or abbreviated option, a second domain, a domain starting with "-", a global
 * option after the verb) is left to the full CLI: undefined.
 */
export function parseFastArgs(args: readonly string[]): { global: GlobalOptions; request: FastRequest } | undefined {
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
  const verbName = args[i] as string;
  const verb = Object.hasOwn(FAST_VERBS, verbName) ? FAST_VERBS[verbName as FastPathVerb] : undefined;
  if (!verb) return undefined;
  const flags: Record<string, boolean> = {};
  let positional: string | undefined;
  let named: string | undefined;
  for (let j = i + 1; j < args.length; j++) {
    const a = args[j] as string;
    if (verb.flags.includes(a)) flags[camelCase(a)] = true;
    else if (verb.domain && a === '--domain' && named === undefined) {
      named = args[++j];
      if (named === undefined || named.startsWith('-')) return undefined;
    } else if (verb.domain && !a.startsWith('-') && positional === undefined) positional = a;
    else return undefined;
  }
  if (positional !== undefined && named !== undefined) return undefined;
  const domain = positional ?? named;
  if (verb.domain && (domain === undefined || domain === '')) return undefined;
  return { global, request: verb.request(flags, domain ?? '') };
}

/**
 * The CLI's fast path, for what runbooks and shell completion run in loops (`ferry list --all`, `ferry domstate
 * vm1`, `ferry domuuid vm1`...): no commander, no verb modules, one GET over the daemon's unix socket, the reply
 * printed as the full CLI prints it (the same code: commands/list-domains.ts, commands/domain-info-format.ts). It
 * prints nothing unless it succeeds: for any other command line, a remote URI, a connection that fails or an error
 * reply (an unknown domain) it returns undefined, and the full CLI runs the command (again, for a failure), so
 * errors keep their one wording. FERRY_CLI_FAST_PATH=0 turns it off.
 */
export async function runFastPath(args: readonly string[], env: NodeJS.ProcessEnv, out: (text: string) => void): Promise<number | undefined> {
  if (env.FERRY_CLI_FAST_PATH === '0') return undefined;
  const parsed = parseFastArgs(args);
  if (!parsed) return undefined;
  const { global, request } = parsed;
  let text: string;
  try {
    const target = parseUri(chooseUri({ ...(global.connect ? { connect: global.connect } : {}), env, readonly: global.readonly }).uri);
    if (target.transport !== 'unix') return undefined;
    const socketPath = global.readonly && !target.socketGiven ? readonlySocketOf(target.socket) : target.socket;
    const reply = await oneShotRequest(
      { socketPath, secure: false },
      { method: 'GET', path: request.path, headers: global.readonly ? { [READONLY_HEADER]: '1' } : {} },
    );
    if (reply.status !== 200) return undefined;
    text = request.render(JSON.parse(reply.body.toString('utf8')), global.quiet);
  } catch {
    return undefined;
  }
  out(text);
  return 0;
}
