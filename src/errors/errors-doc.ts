import { ERROR_CODES } from './codes.js';

/** docs/errors.md, generated from the registry (scripts/gen-errors-doc.sh writes it; a test compares). */
export function renderErrorsDoc(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.summary} | ${e.hint.replace(/\|/g, '\\|')} | ${e.status} |`);
  return [
    '# ferry error codes',
    '',
    'Every error ferry reports carries one of these codes: the CLI prints it after the hint',
    '(`hint: ... [CODE]`), the API returns it as `error.code` with the HTTP status below.',
    'The CLI exits with status 1 on any error, as virsh does.',
    '',
    '<!-- generated from src/errors/codes.ts by scripts/gen-errors-doc.sh; do not edit by hand -->',
    '',
    '| Code | Meaning | How to fix | HTTP |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
