import { writeSync } from 'node:fs';

/** Ends the process quietly when the reader of a pipe is gone (`ferry list | head`), as any Unix tool does. */
export function quietOnEpipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

/**
 * Writes text to file descriptor 1 with write(2), without creating
 * process.stdout: a pipe's stream is a socket object of its own, which the
 * fast path would build for one write. A non-blocking pipe that is full
 * (EAGAIN) gets the rest through process.stdout, which waits for it; a reader
 * that is gone (EPIPE) ends the process quietly.
 */
export function writeStdoutSync(text: string): void {
  const data = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < data.length) done += writeSync(1, data, done);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
    if (code !== 'EAGAIN') throw err;
    quietOnEpipe(process.stdout);
    process.stdout.write(data.subarray(done));
  }
}
