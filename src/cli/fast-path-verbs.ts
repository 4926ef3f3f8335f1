/**
 * The verbs the CLI's fast path runs (src/cli/fast-path.ts): what runbooks and shell completion call in loops.
 * Apart so that the executable's front (ferry.ts) can tell, without loading the fast path, whether to try it.
 */
export const FAST_PATH_VERBS = ['list', 'dominfo', 'domstate', 'domid', 'domname', 'domuuid'] as const;

export type FastPathVerb = (typeof FAST_PATH_VERBS)[number];
