import type { Command, Option } from 'commander';
import { VERB_GROUPS } from '../help/verb-groups.js';

/** The objects the connected daemon can name, by the argument name the command definitions give them. */
export type ObjectKind = 'domain' | 'pool' | 'network' | 'vol';
const OBJECT_KINDS: Record<string, ObjectKind> = { domain: 'domain', pool: 'pool', network: 'network', vol: 'vol' };

export type Completion = { kind: 'words'; words: string[] } | { kind: 'objects'; object: ObjectKind; prefix: string; pool?: string };

export interface CompletionRequest {
  /** -c/--connect given on the line being completed. */
  connect?: string;
  completion: Completion;
}

const GLOBAL_WITH_VALUE = new Set(['-c', '--connect']);

/** An option's value name (`--domain <domain>` → domain), if it takes one. */
function valueName(o: Option): string | undefined {
  return /[<[]([\w-]+)[>\]]/.exec(o.flags)?.[1];
}

function findOption(cmd: Command, word: string): Option | undefined {
  const name = word.split('=')[0];
  return cmd.options.find((o) => o.long === name || o.short === name);
}

const verbs = (program: Command): string[] => program.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden).map((c) => c.name());

const byPrefix = (words: string[], prefix: string): string[] => words.filter((w) => w.startsWith(prefix));

/**
 * What to offer for the last word of a ferry command line (the words after
 * `ferry`, the last one being the word under the cursor, maybe empty), read
 * from the command definitions alone: verbs, a verb's options, or the names
 * of the objects (domains, pools, networks, volumes) an argument or option
 * takes, which the caller asks the daemon for.
 */
export function whatToComplete(program: Command, words: string[]): CompletionRequest {
  const current = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const out: CompletionRequest = { completion: { kind: 'words', words: [] } };
  let i = 0;
  for (; i < before.length && (before[i] as string).startsWith('-'); i++) {
    const w = before[i] as string;
    if (GLOBAL_WITH_VALUE.has(w)) out.connect = before[++i];
    else if (w.startsWith('--connect=')) out.connect = w.slice('--connect='.length);
  }
  if (i >= before.length) {
    // The verb itself (or a global option before it).
    if (before.length > 0 && GLOBAL_WITH_VALUE.has(before[before.length - 1] as string)) return out;
    const candidates = current.startsWith('-') ? program.options.flatMap((o) => (o.long ? [o.long] : [])).concat('--help') : verbs(program);
    out.completion = { kind: 'words', words: byPrefix(candidates, current) };
    return out;
  }
  const cmd = program.commands.find((c) => c.name() === before[i] || c.aliases().includes(before[i] as string));
  if (!cmd) return out;
  let positional = 0;
  const used = new Set<string>();
  let pending: Option | undefined;
  let pool: string | undefined;
  for (const w of before.slice(i + 1)) {
    if (pending) {
      if (pending.long === '--pool') pool = w;
      pending = undefined;
    } else if (w.startsWith('-') && w !== '-') {
      const o = findOption(cmd, w);
      if (o?.long) used.add(o.long);
      if (o && (o.required || o.optional) && !w.includes('=')) pending = o;
      if (o?.long === '--pool' && w.includes('=')) pool = w.slice(w.indexOf('=') + 1);
    } else {
      positional++;
    }
  }
  let argName: string | undefined;
  if (pending) {
    argName = valueName(pending);
  } else if (current.startsWith('-')) {
    const options = cmd.options.flatMap((o) => (o.long && !used.has(o.long) ? [o.long] : [])).concat(used.has('--help') ? [] : ['--help']);
    out.completion = { kind: 'words', words: byPrefix(options, current) };
    return out;
  } else if (cmd.name() === 'help' && positional === 0) {
    out.completion = { kind: 'words', words: byPrefix([...verbs(program), ...VERB_GROUPS.map((g) => g.keyword)], current) };
    return out;
  } else {
    const args = cmd.registeredArguments;
    const arg = args[positional] ?? (args[args.length - 1]?.variadic ? args[args.length - 1] : undefined);
    argName = arg?.name();
  }
  const object = argName ? OBJECT_KINDS[argName] : undefined;
  if (object) out.completion = { kind: 'objects', object, prefix: current, ...(pool ? { pool } : {}) };
  return out;
}
