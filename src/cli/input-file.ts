import { readFileSync } from 'node:fs';
import { CliFailure } from './context.js';

/** A file a command reads ('-' is standard input), or virsh's "Failed to open file" when it cannot be read. */
export function readInputFile(file: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliFailure(
      [`Failed to open file '${file}': ${code === 'ENOENT' ? 'No such file or directory' : (err as Error).message}`],
      undefined,
      'INVALID_ARGUMENT',
    );
  }
}

/** The XML of a definition file ('-': standard input). */
export function readXmlFile(file: string): string {
  return readInputFile(file).toString('utf8');
}
