/**
 * The CLI as a V8 startup snapshot (bench/cli-startup.ts measures it): bundled as one CommonJS file,
 * run once under `node --snapshot-blob B --build-snapshot`, then every start deserializes the loaded
 * modules from B instead of compiling them. Node 20 allows only its own modules in a snapshot's
 * script, hence the bundle.
 */
import v8 from 'node:v8';
import { runCli } from '../src/cli/main.js';

if (v8.startupSnapshot.isBuildingSnapshot()) {
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    // `node --snapshot-blob B ARGS...`: argv is [node, ARGS...]; the CLI expects [node, script, ARGS...].
    runCli([process.argv[0] as string, 'ferry', ...process.argv.slice(1)]).then(
      (code) => {
        process.exitCode = code;
      },
      (err: unknown) => {
        process.stderr.write(`error: ${String(err)}\n`);
        process.exitCode = 1;
      },
    );
  });
}
