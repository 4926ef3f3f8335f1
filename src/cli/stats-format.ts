import type { BlockCounters, TypedParam } from '../shared/api-types.js';

/** virsh domstats' records: `Domain: 'NAME'`, each parameter indented as `  field=value`, a blank line between records. */
export function formatDomstats(domains: Array<{ name: string; params: TypedParam[] }>): string {
  return domains.map((d) => `Domain: '${d.name}'\n${d.params.map((p) => `  ${p.field}=${p.value}\n`).join('')}`).join('\n');
}

/** domblkstat's fields in virsh's order: legacy name, --human label, value (QEMU reports no error count, so errs is left out as libvirt does). */
function blkFields(s: BlockCounters): Array<[string, string, number]> {
  return [
    ['rd_req', 'number of read operations:', s.rd.reqs],
    ['rd_bytes', 'number of bytes read:', s.rd.bytes],
    ['wr_req', 'number of write operations:', s.wr.reqs],
    ['wr_bytes', 'number of bytes written:', s.wr.bytes],
    ['flush_operations', 'number of flush operations:', s.fl.reqs],
    ['rd_total_times', 'total duration of reads (ns):', s.rd.times],
    ['wr_total_times', 'total duration of writes (ns):', s.wr.times],
    ['flush_total_times', 'total duration of flushes (ns):', s.fl.times],
  ];
}

/**
 * virsh domblkstat: `DEVICE FIELD VALUE` lines (DEVICE empty for the sum over
 * all disks), or with --human a `Device: DEVICE` header and labelled lines.
 */
export function formatDomblkstat(device: string, s: BlockCounters, human: boolean): string {
  const head = human ? `Device: ${device}\n` : '';
  const prefix = human ? '' : device;
  return (
    head +
    blkFields(s)
      .map(([legacy, label, v]) => `${prefix} ${human ? label.padEnd(31) : legacy} ${v}\n`)
      .join('')
  );
}
