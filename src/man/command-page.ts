import type { Argument, Command, Option } from 'commander';
import { roffFlags, roffTagged, roffText } from './roff.js';

const visible = (o: Option): boolean => !o.hidden;

/** An option as a tagged paragraph, with its default when the definition has one. */
export function optionEntry(o: Option): string {
  const dflt = o.defaultValue !== undefined && typeof o.defaultValue !== 'boolean' ? ` (default: ${String(o.defaultValue)})` : '';
  return roffTagged(roffFlags(o.flags), `${o.description}${dflt}`);
}

/** A command's options, and -h/--help, which commander adds itself. */
export function optionEntries(cmd: Command): string {
  return cmd.options.filter(visible).map(optionEntry).join('') + roffTagged('\\fB\\-h\\fR, \\fB\\-\\-help\\fR', 'print help and exit');
}

function argumentText(a: Argument): string {
  const name = `\\fI${roffText(a.name())}\\fR${a.variadic ? '...' : ''}`;
  return a.required ? name : `[${name}]`;
}

/** One verb of ferry(1): its synopsis, its description, its arguments and options indented below. */
export function verbEntry(cmd: Command): string {
  const args = cmd.registeredArguments.map(argumentText).join(' ');
  const opts = cmd.options.filter(visible);
  let out = `.TP\n\\fB${cmd.name().replace(/-/g, '\\-')}\\fR${opts.length > 0 ? ' [\\fIoptions\\fR]' : ''}${args ? ` ${args}` : ''}\n${roffText(cmd.description())}\n`;
  const inner =
    cmd.registeredArguments
      .filter((a) => a.description)
      .map((a) => roffTagged(`\\fI${roffText(a.name())}\\fR`, a.description))
      .join('') + opts.map(optionEntry).join('');
  if (inner) out += `.RS\n${inner}.RE\n`;
  return out;
}
