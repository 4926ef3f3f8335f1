/** The `ferry` executable: runs the CLI and exits with its status. */
import { FAST_PATH_VERBS } from './fast-path-verbs.js';
import { quietOnEpipe, writeStdoutSync } from './stdout-sync.js';

/** The fast path is tried when a fast verb is typed (src/cli/fast-path.ts decides for sure): other commands do not load it. */
function mayTakeFastPath(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  return env.FERRY_CLI_FAST_PATH !== '0' && args.some((a) => (FAST_PATH_VERBS as readonly string[]).includes(a));
}

async function run(argv: string[]): Promise<number> {
  const args = argv.slice(2);
  if (mayTakeFastPath(args, process.env)) {
    // No commander, no verb modules, and neither process.stdout nor process.stderr (a socket object each, for a pipe).
    const { runFastPath } = await import('./fast-path.js');
    const code = await runFastPath(args, process.env, writeStdoutSync);
    if (code !== undefined) return code;
  }
  quietOnEpipe(process.stdout);
  quietOnEpipe(process.stderr);
  const { runCli } = await import('./main.js');
  return runCli(argv);
}

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
