import type { Command } from 'commander';
import { FerryError } from '../../errors/ferry-error.js';
import { prettyCapacity, type VolumeInfo } from '../../shared/volume.js';
import { CliFailure, type CliContext, connectionFailure, enc } from '../context.js';
import { numeric } from '../numeric.js';
import { formatFields, formatTable } from '../format.js';

async function volOp<T>(what: string, verb: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError) {
      if (err.code === 'CONNECT_FAILED') throw connectionFailure(err);
      if (err.code === 'POOL_NOT_FOUND') throw new CliFailure([`failed to get pool '${err.details.pool ?? what}'`, err.message], err.hint, err.code);
      if (err.code === 'VOL_NOT_FOUND' && !verb) throw new CliFailure([`failed to get vol '${what}'`, err.message], err.hint, err.code);
      throw new CliFailure(verb ? [`Failed to ${verb} vol ${what}`, err.message] : [err.message], err.hint, err.code);
    }
    throw err;
  }
}

/** virsh names a volume by name with --pool, or by path or key without one. */
async function findVolume(ctx: CliContext, vol: string, pool: string | undefined): Promise<{ pool: string; volume: VolumeInfo }> {
  if (pool) {
    const r = await volOp(vol, undefined, () => ctx.client().get<{ volume: VolumeInfo }>(`/v1/pools/${enc(pool)}/volumes/${enc(vol)}`));
    return { pool, volume: r.volume };
  }
  return volOp(vol, undefined, () => ctx.client().get<{ pool: string; volume: VolumeInfo }>(`/v1/volumes?path=${enc(vol)}`));
}

export function registerVol(program: Command, ctx: CliContext): void {
  program
    .command('vol-create-as')
    .description('create a volume in a pool from a set of arguments')
    .argument('<pool>', 'pool name')
    .argument('<name>', 'name of the volume')
    .argument(
      '<capacity>',
      'size of the volume, with optional suffix (k, M, G, T)',
      numeric({ name: 'capacity', size: true, min: 1, max: Number.MAX_SAFE_INTEGER }),
    )
    .option(
      '--allocation <size>',
      'initial allocation size (raw: equal to capacity preallocates)',
      numeric({ name: 'allocation', size: true, min: 0, max: Number.MAX_SAFE_INTEGER }),
    )
    .option('--format <format>', 'file format type: raw or qcow2', 'raw')
    .action(async (pool: string, name: string, capacity: number, opts: { allocation?: number; format: string }) => {
      if (opts.format !== 'raw' && opts.format !== 'qcow2')
        throw new CliFailure([`unsupported volume format '${opts.format}'`], 'Use raw or qcow2', 'INVALID_ARGUMENT');
      const allocation = opts.allocation;
      await volOp(name, 'create', () =>
        ctx.client().post(`/v1/pools/${enc(pool)}/volumes`, { name, capacity, format: opts.format, ...(allocation !== undefined ? { allocation } : {}) }),
      );
      ctx.say(`Vol ${name} created\n`);
    });

  program
    .command('vol-delete')
    .description('delete a volume')
    .argument('<vol>', 'volume name, key or path')
    .option('--pool <pool>', 'pool name or uuid')
    .action(async (vol: string, opts: { pool?: string }) => {
      const found = await findVolume(ctx, vol, opts.pool);
      await volOp(vol, 'delete', () => ctx.client().delete(`/v1/pools/${enc(found.pool)}/volumes/${enc(found.volume.name)}`));
      ctx.say(`Vol ${vol} deleted\n`);
    });

  program
    .command('vol-list')
    .description('list the volumes of a pool')
    .argument('[pool]', 'pool name or uuid')
    .option('--pool <pool>', 'pool name or uuid')
    .option('--details', 'display extended details for volumes')
    .action(async (positional: string | undefined, opts: { pool?: string; details?: boolean }) => {
      const pool = positional ?? opts.pool;
      if (!pool) throw new CliFailure(["command requires the option '--pool'"], undefined, 'INVALID_ARGUMENT');
      const { volumes } = await volOp(pool, undefined, () => ctx.client().get<{ volumes: VolumeInfo[] }>(`/v1/pools/${enc(pool)}/volumes`));
      const table = opts.details
        ? formatTable(
            ['Name', 'Path', 'Type', 'Capacity', 'Allocation'],
            volumes.map((v) => [v.name, v.path, v.type, prettyCapacity(v.capacity), prettyCapacity(v.allocation)]),
          )
        : formatTable(
            ['Name', 'Path'],
            volumes.map((v) => [v.name, v.path]),
          );
      ctx.print(`${table}\n`);
    });

  program
    .command('vol-info')
    .description('storage volume information')
    .argument('<vol>', 'volume name, key or path')
    .option('--pool <pool>', 'pool name or uuid')
    .option('--bytes', 'show sizes in bytes')
    .action(async (vol: string, opts: { pool?: string; bytes?: boolean }) => {
      const { volume: v } = await findVolume(ctx, vol, opts.pool);
      const sz = (n: number): string => (opts.bytes ? `${n} bytes` : prettyCapacity(n));
      ctx.print(
        `${formatFields(
          [
            ['Name', v.name],
            ['Type', v.type],
            ['Capacity', sz(v.capacity)],
            ['Allocation', sz(v.allocation)],
          ],
          16,
        )}\n`,
      );
    });

  program
    .command('vol-path')
    .description('returns the volume path for a given volume name or key')
    .argument('<vol>', 'volume name or key')
    .option('--pool <pool>', 'pool name or uuid')
    .action(async (vol: string, opts: { pool?: string }) => {
      const { volume } = await findVolume(ctx, vol, opts.pool);
      ctx.print(`${volume.path}\n\n`);
    });
}
