/** The `ferry` executable: runs the CLI and exits with its status. */
import { runFastPath } from './fast-path.js';

// Output piped into `head` and friends: a closed pipe ends the command quietly, as for any Unix tool.
function quietOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

quietOnEpipe(process.stdout);

// The fast path (list, the commands runbooks run in loops) loads neither commander nor the verb modules, and
// never writes to stderr (which it leaves uncreated: a stream per command); everything else is the full CLI.
runFastPath(process.argv.slice(2), process.env, (text) => process.stdout.write(text))
  .then(async (fast) => {
    if (fast !== undefined) return fast;
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
