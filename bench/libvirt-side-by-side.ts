/**
 * ferry and libvirt side by side (issue 15, part 6): the same test guest (1 GiB, ferry-load
 * rewriting a 512 MiB working set at the case's rate), the same two hosts, migrated live by
 * `ferry migrate` (ferryd, its default policy `auto`) and by `virsh migrate` (Debian's
 * libvirtd 11.3 from bookworm-backports: install it with scripts/setup-libvirt-bench.sh; it is
 * not part of `npm test`). Cases (bench/side-by-side-cases.ts):
 *
 *   idle                   nothing dirtied, uncapped
 *   dirty-100              100 MiB/s, uncapped
 *   dirty-150-cap-100      150 MiB/s over --bandwidth 100
 *   cap-100-auto-converge  the same, virsh --auto-converge (ferry: --policy auto --auto-converge)
 *   cap-100-postcopy       the same, virsh --postcopy and `virsh migrate-postcopy` after
 *                          --postcopy-after seconds, as an operator would (ferry: --policy auto --postcopy)
 *   cap-100-max-downtime-50  the capped case with ferry's promise --max-downtime 50 (virsh has no
 *                          such flag: libvirt runs it as dirty-150-cap-100)
 *
 * A migration still running after --abort-after seconds (30) is aborted (`domjobabort`) and
 * reported as not completed, with the bytes sent by then. After every run the guest's memory
 * is checked: a full pass of ferry-load's scrubber (every word of every touched page) that
 * began after the switch-over, on the host the guest runs on (waitFullScrub).
 *
 * Per run: completed, total s (the command's wall time), job s (libvirt's Time elapsed,
 * ferry's QEMU total-time), downtime, bytes sent, ferry's forecast (`migrate-check --json` just
 * before) and its policy's last step, the memory check. With --lab: the lab's two hosts in
 * network namespaces on a tc-shaped link (--rate, 1gbit), bytes on the wire, and a pinger on
 * the VM network (the switch, every 20 ms): the longest gap between replies, requests lost.
 *
 * libvirt's setup, kept simple (bench/libvirt-host.ts): each libvirtd in its own mount and UTS
 * namespace (private /run/libvirt, /var/lib/libvirt, /etc/libvirt, /var/log/libvirt; its own
 * host name and host_uuid), QEMU as root (qemu.conf user = group = "root", security_driver =
 * "none", no cgroups, no per-VM namespace), domain type 'qemu' (TCG, as ferry's unprivileged
 * QEMU runs here), the serial console to a file. virsh drives both daemons (not --p2p), QEMU's
 * stream goes to --migrateuri tcp://DEST:PORT.
 *
 * Usage (as root, under the e2e lock):
 *   flock /tmp/ferry-e2e.lock node dist/bench/libvirt-side-by-side.js [--runs N] [--case NAME ...]
 *     [--lab] [--rate 1gbit] [--tool ferry|libvirt] [--abort-after S] [--postcopy-after S] [--scrub MiB/s]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { guestXml, type GuestXmlOptions } from '../test/helpers/guest.js';
import { lastSeq, waitFullScrub, waitHeartbeats } from '../test/helpers/heartbeat.js';
import { tempDir } from '../test/helpers/tmp.js';
import { migrateWithFerry } from './ferry-migration.js';
import { libvirtGuestXml } from './libvirt-guest-xml.js';
import { migrateWithLibvirt } from './libvirt-migration.js';
import type { MigrationOutcome } from './migration-outcome.js';
import { type SideBySideCase, sideBySideCases } from './side-by-side-cases.js';
import { labTopology } from './side-by-side-lab.js';
import { loopbackTopology } from './side-by-side-loopback.js';
import { type SideBySideRow, sideBySideTable } from './side-by-side-table.js';
import type { Topology } from './side-by-side-topology.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    case: { type: 'string', multiple: true },
    tool: { type: 'string', multiple: true },
    lab: { type: 'boolean', default: false },
    rate: { type: 'string', default: '1gbit' },
    'abort-after': { type: 'string', default: '30' },
    'postcopy-after': { type: 'string', default: '5' },
    scrub: { type: 'string', default: '64' },
  },
});

type Tool = 'ferry' | 'libvirt';

/** How one tool boots, migrates, reads the serial log of, and removes the guest. */
interface ToolDriver {
  boot(host: string, xmlFile: string, o: GuestXmlOptions): Promise<void>;
  migrate(from: string, to: string): Promise<MigrationOutcome>;
  serial(host: string): string;
  remove(host: string): Promise<void>;
  flags: string;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function driver(topo: Topology, tool: Tool, c: SideBySideCase, name: string): ToolDriver {
  const abortAfterS = Number(values['abort-after']);
  if (tool === 'ferry') {
    return {
      flags: c.ferry.join(' '),
      boot: async (host, file, o) => {
        writeFileSync(file, guestXml(o));
        for (const cmd of ['define', 'start']) {
          const r = await topo.ferry(host, cmd, cmd === 'define' ? file : name);
          if (r.code !== 0) throw new Error(`ferry ${cmd}: ${r.stderr}`);
        }
      },
      migrate: (from, to) => migrateWithFerry(topo, { name, from, to, flags: c.ferry, abortAfterS }),
      serial: (host) => topo.ferrySerialLog(host, name),
      remove: async (host) => {
        await topo.ferry(host, 'destroy', name);
        await topo.ferry(host, 'undefine', name);
      },
    };
  }
  const serialFile = `${name}-serial0.log`;
  return {
    flags: [...c.virsh, ...(c.postcopyAfterS !== undefined ? [`+ migrate-postcopy at ${c.postcopyAfterS} s`] : [])].join(' '),
    boot: async (host, file, o) => {
      writeFileSync(file, libvirtGuestXml(o, `/var/log/libvirt/${serialFile}`));
      await topo.libvirt(host).ok('create', file);
    },
    migrate: (from, to) =>
      migrateWithLibvirt({
        name,
        from: topo.libvirt(from),
        to: topo.libvirt(to),
        migrateUri: topo.libvirtMigrateUri(to),
        flags: c.virsh,
        ...(c.postcopyAfterS !== undefined ? { postcopyAfterS: c.postcopyAfterS } : {}),
        abortAfterS,
      }),
    serial: (host) => readOr(topo.libvirt(host).logPath(serialFile)),
    remove: async (host) => {
      await topo.libvirt(host).virsh('destroy', name);
    },
  };
}

/** The guest's memory after a run: a full scrub pass after the switch (on the destination), or after the abort (on the source). */
async function memoryCheck(d: ToolDriver, from: string, to: string, completed: boolean): Promise<string> {
  try {
    const read = completed ? () => d.serial(to) : () => d.serial(from);
    await waitFullScrub(read, { afterSeq: lastSeq(d.serial(from)) + 1, timeoutMs: 120_000 });
    return 'ok';
  } catch (err) {
    return `FAILED: ${(err as Error).message}`;
  }
}

async function runTool(topo: Topology, c: SideBySideCase, tool: Tool): Promise<SideBySideRow[]> {
  const name = `sbs-${c.name}-${tool}`;
  const d = driver(topo, tool, c, name);
  const [a, b] = topo.hosts;
  const touch = 512;
  const o: GuestXmlOptions = {
    name,
    memoryMiB: 1024,
    touchMiB: touch,
    dirtyMiBs: c.dirty,
    hbMs: 100,
    ...topo.guest,
    extraCmdline: `ferry.scrub=${values.scrub} ${topo.guest.extraCmdline ?? ''}`.trim(),
  };
  await d.boot(a, `${topo.sharedDir}/${name}.xml`, o);
  let [from, to] = [a, b];
  const rows: SideBySideRow[] = [];
  try {
    await waitHeartbeats(() => d.serial(a), 2, { timeoutMs: 180_000 });
    await topo.waitReachable();
    // Let ferry-load finish touching its memory.
    await new Promise((r) => setTimeout(r, 2000 + touch * 10));
    for (let run = 1; run <= Number(values.runs); run++) {
      const ping = topo.ping?.();
      if (ping) await new Promise((r) => setTimeout(r, 300));
      const wireBefore = topo.wireBytes?.(from);
      const started = Date.now();
      const outcome = await d.migrate(from, to);
      const ended = Date.now();
      const wireBytes = wireBefore !== undefined ? (topo.wireBytes?.(from) ?? 0) - wireBefore : undefined;
      const memory = await memoryCheck(d, from, to, outcome.completed);
      let pinged: { blackoutMs: number; lost: number } | undefined;
      if (ping) pinged = { blackoutMs: ping.longestGapMs(started - 300, ended + 300), lost: (await ping.stop()).lost };
      const row: SideBySideRow = { case: c.name, tool, flags: d.flags, run, ...outcome, memory, ...(wireBytes !== undefined ? { wireBytes } : {}), ...pinged };
      process.stdout.write(`${JSON.stringify(row)}\n`);
      rows.push(row);
      if (outcome.completed) [from, to] = [to, from];
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await d.remove(from);
  }
  return rows;
}

/** Issue 15's goal for the capped case under ferry's default policy: done by itself in ≤ 6 s with ≤ 50 ms downtime. */
function goalLine(rows: SideBySideRow[]): string {
  const mine = rows.filter((r) => r.tool === 'ferry' && r.case === 'dirty-150-cap-100');
  if (mine.length === 0) return '';
  const verdicts = mine.map((r) => {
    if (!r.completed) return `run ${r.run}: did not finish (${r.why ?? '?'})`;
    const misses = [
      r.totalS > 6 ? `total ${r.totalS.toFixed(2)} s, ${(r.totalS - 6).toFixed(2)} s over` : '',
      (r.downtimeMs ?? 0) > 50 ? `downtime ${r.downtimeMs} ms, ${(r.downtimeMs ?? 0) - 50} ms over` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return `run ${r.run}: ${misses ? `missed (${misses})` : `met (${r.totalS.toFixed(2)} s, ${r.downtimeMs ?? '?'} ms)`}`;
  });
  return `goal (dirty-150-cap-100, ferry default policy, ≤ 6 s total and ≤ 50 ms downtime): ${verdicts.join('; ')}\n`;
}

/** Issue 15's goal: no run pauses the guest longer than its --max-downtime. */
function promiseLine(rows: SideBySideRow[]): string {
  const promised = rows.filter((r) => r.tool === 'ferry' && r.flags.includes('--max-downtime'));
  if (promised.length === 0) return '';
  const verdicts = promised.map((r) => {
    const ms = Number(/--max-downtime (\d+)/.exec(r.flags)?.[1]);
    if (!r.completed) return `run ${r.run}: not completed, the guest never paused for a switch-over (${r.why ?? '?'})`;
    return `run ${r.run}: ${(r.downtimeMs ?? Infinity) <= ms ? 'kept' : 'BROKEN'} (${r.downtimeMs ?? '?'} ms of ${ms})`;
  });
  return `promise (--max-downtime): ${verdicts.join('; ')}\n`;
}

async function main(): Promise<void> {
  const cases = sideBySideCases(Number(values['postcopy-after'])).filter((c) => !values.case?.length || values.case.includes(c.name));
  const tools = (values.tool?.length ? values.tool : ['ferry', 'libvirt']) as Tool[];
  const dir = tempDir('ferry-sbs-');
  const topo = await (values.lab ? labTopology(dir.path, values.rate as string) : loopbackTopology(tools.includes('libvirt'))).catch((err: unknown) => {
    dir.cleanup();
    throw err;
  });
  const at = new Date().toISOString();
  const load = loadavg().map((l) => l.toFixed(2));
  const tables: string[] = [];
  const all: SideBySideRow[] = [];
  try {
    for (const c of cases) {
      const rows: SideBySideRow[] = [];
      for (const tool of tools) rows.push(...(await runTool(topo, c, tool)));
      all.push(...rows);
      tables.push(`### ${c.name} (${topo.label}; dirty ${c.dirty} MiB/s)\n\n${sideBySideTable(rows)}`);
    }
  } finally {
    await topo.stop();
    dir.cleanup();
  }
  const loadEnd = loadavg().map((l) => l.toFixed(2));
  process.stdout.write(
    `\nstarted ${at}, load average ${load.join(' ')} at the start, ${loadEnd.join(' ')} at the end\n\n${tables.join('\n')}\n${goalLine(all)}${promiseLine(all)}`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
