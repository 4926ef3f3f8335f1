import type { Command } from 'commander';
import type { AgentFsInfo, AgentOsInfo, AgentTimezone, AgentUser, GuestTime } from '../../shared/agent-types.js';
import { CliFailure, type CliContext, domainArg, domainOp, enc } from '../context.js';
import { formatTable } from '../format.js';
import { LIMITS, numeric } from '../numeric.js';

interface AddressRow {
  name: string;
  hwaddr: string | null;
  addrs: Array<{ type: string; addr: string; prefix: number }>;
}

interface GuestInfo {
  users?: AgentUser[];
  os?: AgentOsInfo;
  timezone?: AgentTimezone;
  hostname?: string;
  filesystems?: AgentFsInfo[];
}

const domain = (c: Command): Command => c.argument('[domain]', 'domain name, id or uuid').option('--domain <domain>', 'domain name, id or uuid');

/** The guest agent's verbs, in virsh's formats: qemu-agent-command, domifaddr, guestinfo, domtime, domfsfreeze, domfsthaw. */
export function registerAgent(program: Command, ctx: CliContext): void {
  program
    .command('qemu-agent-command')
    .description('send a command to the guest agent (qemu-ga) and print its reply')
    .argument('<domain>', 'domain name, id or uuid')
    .argument('<command...>', 'the agent command as JSON, e.g. \'{"execute":"guest-info"}\'')
    .option('--timeout <seconds>', 'how long to wait for the reply (default 10)', numeric({ name: 'timeout', min: 1, max: LIMITS.seconds }))
    .option('--block', 'wait for the reply as long as it takes')
    .option('--pretty', 'pretty-print the reply')
    .action(async (ref: string, words: string[], opts: { timeout?: number; block?: boolean; pretty?: boolean }) => {
      if (opts.block && opts.timeout !== undefined)
        throw new CliFailure(['Options --timeout and --block are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
      const timeoutSeconds = opts.block ? 0 : opts.timeout;
      const r = await domainOp(ref, undefined, () =>
        ctx.client().post<{ reply: unknown }>(`/v1/domains/${enc(ref)}/agent-command`, {
          command: words.join(' '),
          ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
        }),
      );
      ctx.print(`${opts.pretty ? JSON.stringify(r.reply, null, 2) : JSON.stringify(r.reply)}\n`);
    });

  domain(program.command('domifaddr'))
    .description("the domain's interfaces and their addresses (--source agent asks the guest agent)")
    .option('--interface <name>', "only this interface (the guest's name for it)")
    .option('--full', 'repeat the name and MAC address on every address line')
    .option('--source <source>', 'where the addresses come from: lease, agent or arp', 'lease')
    .action(async (positional: string | undefined, opts: { domain?: string; interface?: string; full?: boolean; source: string }) => {
      const ref = domainArg(positional, opts);
      if (!['lease', 'agent', 'arp'].includes(opts.source)) {
        throw new CliFailure([`Unknown data source '${opts.source}'`], 'Use --source lease, agent or arp', 'INVALID_ARGUMENT');
      }
      const r = await domainOp(ref, undefined, () => ctx.client().get<{ interfaces: AddressRow[] }>(`/v1/domains/${enc(ref)}/addresses?source=${opts.source}`));
      const rows: string[][] = [];
      for (const i of r.interfaces) {
        if (opts.interface && opts.interface !== i.name) continue;
        const mac = i.hwaddr ?? '';
        if (i.addrs.length === 0) rows.push([i.name, mac, 'N/A', 'N/A']);
        i.addrs.forEach((a, n) =>
          rows.push(opts.full || n === 0 ? [i.name, mac, a.type, `${a.addr}/${a.prefix}`] : ['-', '-', a.type, `${a.addr}/${a.prefix}`]),
        );
      }
      ctx.print(formatTable(['Name', 'MAC address', 'Protocol', 'Address'], rows));
    });

  domain(program.command('guestinfo'))
    .description('what the guest agent reports about the guest (all groups when none is named)')
    .option('--user', 'logged-in users')
    .option('--os', 'operating system')
    .option('--timezone', 'time zone')
    .option('--hostname', 'host name')
    .option('--filesystem', 'mounted filesystems')
    .action(async (positional: string | undefined, opts: Record<string, string | boolean | undefined>) => {
      const ref = domainArg(positional, opts as { domain?: string });
      const types = [
        ['user', 'users'],
        ['os', 'os'],
        ['timezone', 'timezone'],
        ['hostname', 'hostname'],
        ['filesystem', 'filesystem'],
      ]
        .filter(([flag]) => opts[flag as string])
        .map(([, t]) => t);
      const q = types.length > 0 ? `?types=${types.join(',')}` : '';
      const info = await domainOp(ref, undefined, () => ctx.client().get<GuestInfo>(`/v1/domains/${enc(ref)}/guestinfo${q}`));
      ctx.print(
        guestInfoLines(info)
          .map(([k, v]) => `${k.padEnd(20)}: ${v}\n`)
          .join(''),
      );
    });

  domain(program.command('domtime'))
    .description("the guest's clock, through the guest agent: print it, or set it")
    .option('--now', "set the guest's clock to this host's time")
    .option('--pretty', 'print the time as a date')
    .option('--sync', 'make the guest set its clock from its RTC')
    .option('--time <seconds>', "set the guest's clock to this many seconds since the epoch", numeric({ name: 'time', min: 0, max: Number.MAX_SAFE_INTEGER }))
    .action(async (positional: string | undefined, opts: { domain?: string; now?: boolean; pretty?: boolean; sync?: boolean; time?: number }) => {
      const ref = domainArg(positional, opts);
      const sets = [opts.now, opts.sync, opts.time !== undefined].filter(Boolean).length;
      if (sets > 1) throw new CliFailure(['Options --now, --sync and --time are mutually exclusive'], undefined, 'INVALID_ARGUMENT');
      if (sets === 0) {
        const r = await domainOp(ref, undefined, () => ctx.client().get<{ time: GuestTime }>(`/v1/domains/${enc(ref)}/time`));
        ctx.print(`Time: ${opts.pretty ? prettyTime(r.time.seconds) : String(r.time.seconds)}\n`);
        return;
      }
      const ms = Date.now();
      const body = opts.sync ? { sync: true } : opts.now ? { seconds: Math.floor(ms / 1000), nseconds: (ms % 1000) * 1_000_000 } : { seconds: opts.time };
      await domainOp(ref, undefined, () => ctx.client().put(`/v1/domains/${enc(ref)}/time`, body));
    });

  domain(program.command('domfsfreeze'))
    .description("freeze the guest's filesystems through the guest agent")
    .option('--mountpoint <path>', 'only the filesystem mounted here (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .action(async (positional: string | undefined, opts: { domain?: string; mountpoint: string[] }) => {
      const ref = domainArg(positional, opts);
      const body = opts.mountpoint.length > 0 ? { mountpoints: opts.mountpoint } : {};
      const r = await domainOp(ref, undefined, () => ctx.client().post<{ filesystems: number }>(`/v1/domains/${enc(ref)}/fsfreeze`, body));
      ctx.say(`Froze ${r.filesystems} filesystem(s)`);
    });

  domain(program.command('domfsthaw'))
    .description("thaw the guest's filesystems frozen by domfsfreeze")
    .action(async (positional: string | undefined, opts: { domain?: string }) => {
      const ref = domainArg(positional, opts);
      const r = await domainOp(ref, undefined, () => ctx.client().post<{ filesystems: number }>(`/v1/domains/${enc(ref)}/fsthaw`));
      ctx.say(`Thawed ${r.filesystems} filesystem(s)`);
    });
}

/** virsh guestinfo's typed parameters, in its order and with its names. */
export function guestInfoLines(info: GuestInfo): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (info.users) {
    out.push(['user.count', String(info.users.length)]);
    info.users.forEach((u, i) => {
      out.push([`user.${i}.name`, u.user]);
      if (u.domain) out.push([`user.${i}.domain`, u.domain]);
      out.push([`user.${i}.login-time`, String(Math.round(u['login-time'] * 1000))]);
    });
  }
  if (info.os) {
    const o = info.os;
    const keys: Array<[string, string | undefined]> = [
      ['id', o.id],
      ['name', o.name],
      ['pretty-name', o['pretty-name']],
      ['version', o.version],
      ['version-id', o['version-id']],
      ['kernel-release', o['kernel-release']],
      ['kernel-version', o['kernel-version']],
      ['machine', o.machine],
      ['variant', o.variant],
      ['variant-id', o['variant-id']],
    ];
    for (const [k, v] of keys) if (v !== undefined) out.push([`os.${k}`, v]);
  }
  if (info.timezone) {
    if (info.timezone.zone !== undefined) out.push(['timezone.name', info.timezone.zone]);
    out.push(['timezone.offset', String(info.timezone.offset)]);
  }
  if (info.hostname !== undefined) out.push(['hostname', info.hostname]);
  if (info.filesystems) {
    out.push(['fs.count', String(info.filesystems.length)]);
    info.filesystems.forEach((f, i) => {
      out.push([`fs.${i}.name`, f.name], [`fs.${i}.mountpoint`, f.mountpoint], [`fs.${i}.fstype`, f.type]);
      if (f['total-bytes'] !== undefined) out.push([`fs.${i}.total-bytes`, String(f['total-bytes'])]);
      if (f['used-bytes'] !== undefined) out.push([`fs.${i}.used-bytes`, String(f['used-bytes'])]);
      out.push([`fs.${i}.disk.count`, String(f.disk.length)]);
    });
  }
  return out;
}

/** virsh domtime --pretty: the local time as "%Y-%m-%d %H:%M:%S". */
function prettyTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
