import type { Command } from 'commander';
import type { DisplayUri } from '../../shared/api-types.js';
import { CliFailure, type CliContext, domainArg, domainOp, enc } from '../context.js';

interface DisplayReply {
  uris: DisplayUri[];
  vnc?: string;
}

/** virsh domdisplay and vncdisplay: where a running domain's VNC or SPICE display is reached. */
export function registerDisplay(program: Command, ctx: CliContext): void {
  program
    .command('domdisplay')
    .description('domain display connection URI')
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .option('--type <type>', 'the display type to show: vnc or spice')
    .option('--include-password', 'put the display password in the URI (read-write connections only)')
    .option('--all', 'show every display, not only the first')
    .addHelpText(
      'after',
      `
Examples:
  ferry domdisplay vm1                    vnc://127.0.0.1:0   (VNC: the display number)
  ferry domdisplay --type spice vm1       spice://127.0.0.1:5901   (SPICE: the port)
  ferry domdisplay --include-password vm1 vnc://:secret@127.0.0.1:0

The address is where the display listens (ferryd.conf's vnc_listen / spice_listen,
127.0.0.1 by default); "localhost" when it listens on every address.
`,
    )
    .action(async (positional: string | undefined, opts: { domain?: string; type?: string; includePassword?: boolean; all?: boolean }) => {
      const ref = domainArg(positional, opts);
      if (opts.type !== undefined && opts.type !== 'vnc' && opts.type !== 'spice') {
        throw new CliFailure(
          [`invalid argument: unknown graphics type '${opts.type}'`],
          'ferry shows vnc and spice displays: --type vnc|spice',
          'INVALID_ARGUMENT',
        );
      }
      const query = [opts.type ? `type=${opts.type}` : '', opts.includePassword ? 'password=true' : ''].filter(Boolean).join('&');
      const r = await domainOp(ref, undefined, () => ctx.client().get<DisplayReply>(`/v1/domains/${enc(ref)}/displays${query ? `?${query}` : ''}`));
      const shown = opts.all ? r.uris : r.uris.slice(0, 1);
      ctx.print(`${shown.map((d) => d.uri).join('\n')}\n\n`);
    });

  program
    .command('vncdisplay')
    .description('vnc display')
    .argument('[domain]', 'domain name, id or uuid')
    .option('--domain <domain>', 'domain name, id or uuid')
    .action(async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      const r = await domainOp(ref, undefined, () => ctx.client().get<DisplayReply>(`/v1/domains/${enc(ref)}/displays?type=vnc`));
      if (r.vnc === undefined)
        throw new CliFailure(
          ['Failed to get VNC port. Is this domain using VNC?'],
          'The VNC display listens on a socket or nowhere; see "ferry domdisplay"',
          'DISPLAY_NOT_FOUND',
        );
      ctx.print(`${r.vnc}\n\n`);
    });
}
