/**
 * systemd's unit name escaping (unit_name_escape, `systemd-escape`): letters, digits, ':' and '_' stay,
 * '.' stays except first, '/' becomes '-', anything else \xNN (so a '-' becomes \x2d).
 */
export function escapeUnitName(s: string): string {
  let out = '';
  for (const [i, ch] of [...Buffer.from(s, 'utf8')].entries()) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9:_]/.test(c) || (c === '.' && i > 0)) out += c;
    else if (c === '/') out += '-';
    else out += `\\x${ch.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The inverse of escapeUnitName for a name without '/' ('-' is then a literal dash). */
export function unescapeUnitName(s: string): string {
  return Buffer.from(
    s.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

/**
 * A machine name as libvirt makes one (virDomainDriverGenerateMachineName): `qemu-ID-NAME`, the name
 * kept to the characters machined accepts in a hostname-like name, at most 64 in all. ferry's ID is the
 * QEMU pid: unique on the host while it runs (a migration's two ends on one host never share it).
 */
export function machineName(id: number, domain: string): string {
  const clean = domain.replace(/[^A-Za-z0-9_.-]/g, '').replace(/^[.-]+/, '');
  return `qemu-${id}-${clean}`.slice(0, 64).replace(/[.-]+$/, '');
}

/** The scope machined makes for a machine: `machine-qemu\x2d12\x2dweb.scope`, as libvirt's VMs have. */
export function machineScopeName(machine: string): string {
  return `machine-${escapeUnitName(machine)}.scope`;
}

/** The machine a scope of machineScopeName belongs to; undefined for another unit. */
export function machineOfScope(unit: string): string | undefined {
  const m = /^machine-(.+)\.scope$/.exec(unit);
  return m?.[1] === undefined ? undefined : unescapeUnitName(m[1]);
}
