import type { Command } from 'commander';
import { FerryError } from '../../errors/ferry-error.js';
import type { PoolSummary } from '../../shared/api-types.js';
import { prettyCapacity } from '../../shared/volume.js';
import { CliFailure, type CliContext, connectionFailure, enc } from '../context.js';
import { readXmlFile } from '../input-file.js';
import { formatFields, formatTable } from '../format.js';

/** Words a pool operation's failure as virsh does ("failed to get pool", "Failed to start pool"). */
async function poolOp<T>(pool: string, verb: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError) {
      if (err.code === 'CONNECT_FAILED') throw connectionFailure(err);
      if (err.code === 'POOL_NOT_FOUND' && err.details.pool === pool) throw new CliFailure([`failed to get pool '${pool}'`, err.message], err.hint, err.code);
      throw new CliFailure(verb ? [`Failed to ${verb} pool ${pool}`, err.message] : [err.message], err.hint, err.code);
    }
    throw err;
  }
}

function poolArg(positional: string | undefined, opts: { pool?: string }): string {
  const p = positional ?? opts.pool;
  if (!p) throw new CliFailure(["command requires the option '--pool'"], 'Name the pool', 'INVALID_ARGUMENT');
  return p;
}

export function registerPool(program: Command, ctx: CliContext): void {
  program
    .command('pool-define-as')
    .description('define a storage pool from a set of arguments (types: dir, netfs, fs, logical, iscsi, gluster)')
    .argument('[name]', 'name of the pool')
    .argument('[type]', 'type of the pool')
    .argument('[source-host]', 'source host for the underlying storage')
    .argument('[source-path]', 'source path for the underlying storage')
    .argument('[source-dev]', 'source device for the underlying storage')
    .argument('[source-name]', 'source name (volume group, gluster volume)')
    .argument('[target]', 'target directory for the pool')
    .option('--name <name>', 'name of the pool')
    .option('--type <type>', 'type of the pool: dir, netfs, fs, logical, iscsi, gluster')
    .option('--source-host <host>', 'source host for the underlying storage')
    .option('--source-path <path>', 'source path (netfs: the exported directory)')
    .option('--source-dev <dev>', 'source device (fs: block device; logical: physical volume; iscsi: target IQN)')
    .option('--source-name <name>', 'source name (logical: volume group; gluster: volume)')
    .option('--source-format <format>', 'source format (netfs: nfs, glusterfs, cifs; fs: filesystem type)')
    .option('--target <dir>', 'target directory for the pool')
    .addHelpText(
      'after',
      "\nThe seed's pool:\n  ferry pool-define-as --name testvms --type netfs --source-host nfs-01 --source-path /testvms --target /var/lib/libvirt/images/testvms\n",
    )
    .action(async (...args: unknown[]) => {
      const [pName, pType, pHost, pPath, pDev, pSrcName, pTarget] = args as Array<string | undefined>;
      const o = args[7] as {
        name?: string;
        type?: string;
        sourceHost?: string;
        sourcePath?: string;
        sourceDev?: string;
        sourceName?: string;
        sourceFormat?: string;
        target?: string;
      };
      const name = o.name ?? pName;
      const type = o.type ?? pType;
      if (!name || !type) throw new CliFailure(["command 'pool-define-as' requires <name> and <type> options"], undefined, 'INVALID_ARGUMENT');
      const body: Record<string, string> = { name, type };
      const set = (k: string, v: string | undefined): void => {
        if (v) body[k] = v;
      };
      set('sourceHost', o.sourceHost ?? pHost);
      set('sourcePath', o.sourcePath ?? pPath);
      set('sourceDev', o.sourceDev ?? pDev);
      set('sourceName', o.sourceName ?? pSrcName);
      set('sourceFormat', o.sourceFormat);
      set('target', o.target ?? pTarget);
      await poolOp(name, 'define', () => ctx.client().post('/v1/pools/define-as', body));
      ctx.say(`Pool ${name} defined\n`);
    });

  program
    .command('pool-define')
    .description('define an inactive persistent storage pool from an XML file')
    .argument('<file>', 'file containing an XML pool description')
    .action(async (file: string) => {
      const xml = readXmlFile(file);
      const r = await poolOp(file, undefined, () => ctx.client().post<{ pool: { name: string } }>('/v1/pools', { xml })).catch((e: CliFailure) => {
        throw new CliFailure([`Failed to define pool from ${file}`, ...e.messages], e.hint, e.code);
      });
      ctx.say(`Pool ${r.pool.name} defined from ${file}\n`);
    });

  const simple: Array<[string, string, string, (p: string) => string, Record<string, unknown>?]> = [
    ['pool-start', 'start', 'start a (previously defined) inactive pool', (p) => `Pool ${p} started`],
    ['pool-destroy', 'destroy', 'stop a pool (unmount it); its volumes stay', (p) => `Pool ${p} destroyed`],
    ['pool-build', 'build', 'build a pool (create its directory or volume group)', (p) => `Pool ${p} built`],
    ['pool-refresh', 'refresh', 'refresh a pool (rescan its volumes)', (p) => `Pool ${p} refreshed`],
  ];
  for (const [verb, action, description, done] of simple) {
    const cmd = program.command(verb).description(description).argument('[pool]', 'pool name or uuid').option('--pool <pool>', 'pool name or uuid');
    if (verb === 'pool-start') cmd.option('--build', 'build the pool first (create its target directory)');
    cmd.action(async (positional: string | undefined, opts: { pool?: string; build?: boolean }) => {
      const pool = poolArg(positional, opts);
      await poolOp(pool, action, () => ctx.client().post(`/v1/pools/${enc(pool)}/${action}`, { build: opts.build ?? false }));
      ctx.say(`${done(pool)}\n`);
    });
  }

  program
    .command('pool-undefine')
    .description('undefine an inactive pool')
    .argument('[pool]', 'pool name or uuid')
    .option('--pool <pool>', 'pool name or uuid')
    .action(async (positional: string | undefined, opts: { pool?: string }) => {
      const pool = poolArg(positional, opts);
      await poolOp(pool, 'undefine', () => ctx.client().delete(`/v1/pools/${enc(pool)}`));
      ctx.say(`Pool ${pool} has been undefined\n`);
    });

  program
    .command('pool-autostart')
    .description('start a pool whenever ferryd starts')
    .argument('[pool]', 'pool name or uuid')
    .option('--pool <pool>', 'pool name or uuid')
    .option('--disable', 'disable autostarting')
    .action(async (positional: string | undefined, opts: { pool?: string; disable?: boolean }) => {
      const pool = poolArg(positional, opts);
      await poolOp(pool, 'mark', () => ctx.client().post(`/v1/pools/${enc(pool)}/autostart`, { enable: !opts.disable }));
      ctx.say(opts.disable ? `Pool ${pool} unmarked as autostarted\n` : `Pool ${pool} marked as autostarted\n`);
    });

  program
    .command('pool-list')
    .description('list pools (active ones unless --all or --inactive)')
    .option('--all', 'list inactive and active pools')
    .option('--inactive', 'list inactive pools')
    .option('--details', 'display extended details for pools')
    .option('--name', 'list pool names only')
    .action(async (opts: { all?: boolean; inactive?: boolean; details?: boolean; name?: boolean }) => {
      const q = new URLSearchParams();
      if (opts.all) q.set('all', 'true');
      if (opts.inactive) q.set('inactive', 'true');
      if (opts.details) q.set('details', 'true');
      const { pools } = await poolOp('', undefined, () => ctx.client().get<{ pools: PoolSummary[] }>(`/v1/pools?${q}`));
      if (opts.name) {
        ctx.print(`${pools.map((p) => `${p.name}\n`).join('')}\n`);
        return;
      }
      const state = (p: PoolSummary): string => (opts.details ? p.state : p.state === 'running' ? 'active' : 'inactive');
      const table = opts.details
        ? formatTable(
            ['Name', 'State', 'Autostart', 'Persistent', 'Capacity', 'Allocation', 'Available'],
            pools.map((p) => [
              p.name,
              state(p),
              p.autostart ? 'yes' : 'no',
              'yes',
              p.stats ? prettyCapacity(p.stats.capacity) : '-',
              p.stats ? prettyCapacity(p.stats.allocation) : '-',
              p.stats ? prettyCapacity(p.stats.available) : '-',
            ]),
          )
        : formatTable(
            ['Name', 'State', 'Autostart'],
            pools.map((p) => [p.name, state(p), p.autostart ? 'yes' : 'no']),
          );
      ctx.print(`${table}\n`);
    });

  program
    .command('pool-info')
    .description('storage pool information')
    .argument('[pool]', 'pool name or uuid')
    .option('--pool <pool>', 'pool name or uuid')
    .option('--bytes', 'show sizes in bytes')
    .action(async (positional: string | undefined, opts: { pool?: string; bytes?: boolean }) => {
      const pool = poolArg(positional, opts);
      const { pool: p } = await poolOp(pool, undefined, () => ctx.client().get<{ pool: PoolSummary }>(`/v1/pools/${enc(pool)}`));
      const size = (n: number): string => (opts.bytes ? `${n}` : prettyCapacity(n));
      const fields: Array<[string, string]> = [
        ['Name', p.name],
        ['UUID', p.uuid],
        ['State', p.state],
        ['Persistent', 'yes'],
        ['Autostart', p.autostart ? 'yes' : 'no'],
      ];
      if (p.stats) fields.push(['Capacity', size(p.stats.capacity)], ['Allocation', size(p.stats.allocation)], ['Available', size(p.stats.available)]);
      ctx.print(`${formatFields(fields, 16)}\n`);
    });

  program
    .command('pool-dumpxml')
    .description('pool information in XML')
    .argument('[pool]', 'pool name or uuid')
    .option('--pool <pool>', 'pool name or uuid')
    .action(async (positional: string | undefined, opts: { pool?: string }) => {
      const pool = poolArg(positional, opts);
      const r = await poolOp(pool, undefined, () => ctx.client().get<{ xml: string }>(`/v1/pools/${enc(pool)}/xml`));
      ctx.print(r.xml);
    });
}
