/** The `ferry` executable: runs the CLI and exits with its status. */
import { runFastPath } from './fast-path.js';
import { quietOnEpipe, writeStdoutSync } from './stdout-sync.js';

// The fast path (list, what runbooks run in loops) loads neither commander nor the verb modules, and creates
// neither process.stdout nor process.stderr (a socket object each, for a pipe); everything else is the full CLI.
runFastPath(process.argv.slice(2), process.env, writeStdoutSync)
  .then(async (fast) => {
    if (fast !== undefined) return fast;
    quietOnEpipe(process.stdout);
    quietOnEpipe(process.stderr);
    const { runCli } = await import('./main.js');
    return runCli(process.argv);
  })
  .then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`error: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
