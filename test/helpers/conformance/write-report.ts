/**
 * Writes the conformance report (markdown): acceptance today, every reason
 * ferry refuses a domain for (not just the first), what accepted domains lose,
 * and the worklist that reaches 90 %, with libvirt's XML and QEMU arguments
 * for the top reasons.
 *
 *   node dist/test/helpers/conformance/write-report.js OUT.md   (scripts/conformance-report.sh builds first)
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { child, parseXml, renderXml, type XmlElement } from '../../../src/shared/xml.js';
import { findBlockers } from './blockers.js';
import { labelledDevices } from './device-label.js';
import { type LibvirtCase, loadLibvirtCases, repoRoot } from './fixture.js';
import { HOST_REQUIREMENT_RULES } from './host-requirements.js';
import { libvirtArgsForDevice, libvirtArgsForSetting, showArg } from './libvirt-args-for.js';
import { readArgsFile, readArgv } from './qemu-args.js';
import { type CaseResult, drops, runCase } from './run-conformance.js';
import { acceptance, deviceKind, generic, TARGET_SHARE } from './summary.js';
import { type WorkStep, worklist } from './worklist.js';

interface Example {
  name: string;
  element?: XmlElement;
  label?: string;
  path?: string;
}

interface Reason {
  domains: string[];
  example: Example;
}

/** Everything the report says, gathered once. */
interface Findings {
  results: CaseResult[];
  cases: Map<string, LibvirtCase>;
  reasons: Map<string, Reason>;
  /** Per in-scope domain: the refusal reasons only, and those plus what it loses once accepted. */
  refusedBy: Map<string, Set<string>>;
  allIssues: Map<string, Set<string>>;
}

function gather(): Findings {
  const caseList = loadLibvirtCases();
  const cases = new Map(caseList.map((c) => [c.name, c]));
  const results = caseList.map(runCase);
  const reasons = new Map<string, Reason>();
  const refusedBy = new Map<string, Set<string>>();
  const allIssues = new Map<string, Set<string>>();
  const note = (set: Set<string>, key: string, ex: Example): void => {
    set.add(key);
    const r = reasons.get(key);
    if (!r) reasons.set(key, { domains: [ex.name], example: ex });
    else if (!r.domains.includes(ex.name)) r.domains.push(ex.name);
  };
  for (const r of results.filter((x) => x.inScope)) {
    const refused = new Set<string>();
    const all = new Set<string>();
    let faithful: CaseResult = r;
    if (!r.accepted) {
      const b = findBlockers((cases.get(r.name) as LibvirtCase).xml);
      for (const x of b.blockers) {
        const ex: Example = { name: r.name, path: x.key.split(' ')[0] as string };
        if (x.example) ex.element = x.example;
        if (x.label) ex.label = x.label;
        note(refused, `refused: ${x.key}`, ex);
      }
      if (!b.complete) note(refused, 'refused: (a refusal the harness cannot place in the XML)', { name: r.name });
      // What the domain would still lose once its refusals are fixed: the checks, on what ferry accepted.
      faithful = b.remainder === undefined ? r : runCase({ name: r.name, xml: b.remainder });
    }
    for (const k of refused) all.add(k);
    const devices = labelledDevices(r.domain);
    for (const m of faithful.missingOnArgv) note(all, `argv: ${deviceKind(m.device)} → ${m.expected}`, { name: r.name, element: m.device, label: m.label });
    for (const l of drops(faithful.deviceLosses)) {
      const label = l.path.split('/')[0] as string;
      const device = devices.find((d) => d.label === label)?.device;
      note(all, `dumpxml: ${generic(l.path)} ${l.kind}`, { name: r.name, label, ...(device ? { element: device } : {}) });
    }
    for (const l of drops(faithful.settingLosses)) {
      const top = l.path.split('/')[0] as string;
      const element = child(r.domain, top.replace(/\[.*$/, '').replace(/^domain$/, ''));
      note(all, `dumpxml: ${generic(l.path)} ${l.kind}`, { name: r.name, path: l.path, ...(element ? { element } : {}) });
    }
    if (faithful.argvError) note(all, `argv: buildQemuArgv throws: ${faithful.argvError.replace(/'[^']*'/g, "'…'")}`, { name: r.name });
    refusedBy.set(r.name, refused);
    allIssues.set(r.name, all);
  }
  return { results, cases, reasons, refusedBy, allIssues };
}

const pct = (n: number, d: number): string => `${((n / d) * 100).toFixed(1)} %`;
const code = (s: string): string => `\`${s.replace(/`/g, "'")}\``;
/** A code span inside a table cell: GitHub's tables need its pipes escaped. */
const cell = (s: string): string => code(s).replace(/\|/g, '\\|');
const names = (list: string[], n = 3): string => list.slice(0, n).join(', ') + (list.length > n ? ', …' : '');

function headline(f: Findings): string[] {
  const a = acceptance(f.results);
  const inScope = f.results.filter((r) => r.inScope);
  const acc = inScope.filter((r) => r.accepted);
  const clean = acc.filter((r) => (f.allIssues.get(r.name)?.size ?? 0) === 0).length;
  const hostCount = (id: string): number => f.results.filter((r) => r.needsHost.some((n) => n.startsWith(`${id} `))).length;
  const unnamed = f.results.filter((r) => r.unnamed.length > 0);
  return [
    '## Headline',
    '',
    `- Fixture: ${a.total} domains (libvirt 11.3.0 \`tests/qemuxmlconfdata/*.x86_64-latest.xml\`, test/fixtures/libvirt-qemuxml).`,
    `- Left out of the denominator: **${f.results.filter((r) => r.needsHost.length > 0).length}** need host hardware (rules below; a domain can match several), **${f.results.filter((r) => r.libvirtRefuses && r.needsHost.length === 0).length}** more that libvirt itself refuses to start (an \`.err\`, no \`.args\`).`,
    `- Denominator: **${a.inScope}**. Accepted today: **${a.accepted} (${pct(a.accepted, a.inScope)})**. ${TARGET_SHARE * 100} % is **${a.needed}**: ${Math.max(0, a.needed - a.accepted)} more.`,
    `- Of the ${acc.length} accepted, **${clean}** are faithful (nothing lost in dumpxml, every device on QEMU's command line); ${acc.filter((r) => drops(r.deviceLosses).length > 0).length} lose something of a device in dumpxml, ${acc.filter((r) => drops(r.settingLosses).length > 0).length} lose a setting outside <devices>, ${acc.filter((r) => r.missingOnArgv.length > 0).length} leave devices off the command line.`,
    `- Refusals naming no element of the domain: ${unnamed.length}${unnamed.length ? ` (${names(unnamed.map((r) => r.name))})` : ''}. Crashes (not a coded error): ${f.results.filter((r) => r.refusals.some((x) => x.code === 'CRASH')).length}.`,
    '',
    '| host-requirement rule | domains | why |',
    '|---|---|---|',
    ...HOST_REQUIREMENT_RULES.map((rule) => `| ${rule.id} | ${hostCount(rule.id)} | ${rule.why.replace(/\|/g, '/')} |`),
    '',
  ];
}

function rankedTable(f: Findings, prefix: string, title: string, issues: Map<string, Set<string>>): string[] {
  const rows = [...f.reasons].filter(([k]) => k.startsWith(prefix)).sort((a, b) => b[1].domains.length - a[1].domains.length || a[0].localeCompare(b[0]));
  const sole = (k: string): number => [...issues.values()].filter((s) => s.size === 1 && s.has(k)).length;
  return [
    title,
    '',
    '| # | reason | domains | only reason for | e.g. |',
    '|---|---|---|---|---|',
    ...rows.map(([k, r], i) => `| ${i + 1} | ${cell(k.slice(prefix.length))} | ${r.domains.length} | ${sole(k)} | ${names(r.domains, 2)} |`),
    '',
  ];
}

function stepsTable(steps: WorkStep[], inScope: number, start: number): string[] {
  const needed = Math.ceil(inScope * TARGET_SHARE);
  const lines = [
    '| step | fix | domains with it | finishes | done | share |',
    '|---|---|---|---|---|---|',
    `| 0 | (today) | | | ${start} | ${pct(start, inScope)} |`,
  ];
  const reached = steps.findIndex((s) => s.cumulative >= needed);
  const shown = reached < 0 ? steps : steps.slice(0, reached + 6);
  for (const [i, s] of shown.entries()) {
    lines.push(
      `| ${i + 1} | ${cell(s.key)} | ${s.domains} | ${s.unlocks} | ${s.cumulative} | ${pct(s.cumulative, inScope)}${s.cumulative >= needed && (steps[i - 1]?.cumulative ?? start) < needed ? ' ← 90 %' : ''} |`,
    );
  }
  if (reached < 0) lines.push(`| | (90 % not reached in ${steps.length} steps) | | | | |`);
  return [...lines, ''];
}

function details(f: Findings, keys: string[]): string[] {
  const out: string[] = [];
  for (const [i, key] of keys.entries()) {
    const r = f.reasons.get(key);
    if (!r) continue;
    const c = f.cases.get(r.example.name) as LibvirtCase;
    out.push(`### ${i + 1}. ${code(key)}`, '', `${r.domains.length} domains: ${names(r.domains, 6)}`, '');
    const el = r.example.element;
    if (el) {
      const xml = renderXml(el).trimEnd().split('\n');
      out.push(
        `libvirt's XML (${r.example.name}):`,
        '',
        '```xml',
        ...xml.slice(0, 18),
        ...(xml.length > 18 ? [`  … (${xml.length - 18} more lines)`] : []),
        '```',
        '',
      );
    }
    if (c.args === undefined) {
      out.push(`libvirt refuses to start ${r.example.name} itself: ${c.err?.trim() ?? ''}`, '');
      continue;
    }
    const domain = parseXml(c.xml);
    const argv = readArgv(readArgsFile(c.args));
    const device = r.example.label !== undefined && el && el.name !== 'domain' && labelledDevices(domain).some((d) => d.label === r.example.label);
    const found = device
      ? { args: libvirtArgsForDevice(domain, argv, r.example.label as string) }
      : libvirtArgsForSetting(r.example.path ?? key.split(' ')[1] ?? '', el, argv);
    const shown = found.args.map((a) => showArg(a));
    out.push(
      "libvirt's QEMU arguments for it:",
      '',
      '```',
      ...(shown.length ? shown : [found.note ?? '(none that the harness can single out: see the .args file)']),
      '```',
      '',
    );
  }
  return out;
}

function report(f: Findings): string {
  const inScope = f.results.filter((r) => r.inScope).length;
  const accepted = f.results.filter((r) => r.inScope && r.accepted).length;
  const clean = [...f.allIssues.values()].filter((s) => s.size === 0).length;
  const accSteps = worklist(f.refusedBy, 200);
  const allSteps = worklist(f.allIssues, 200);
  const needed = Math.ceil(inScope * TARGET_SHARE);
  const cut = (steps: WorkStep[]): WorkStep[] => steps.slice(0, Math.max(steps.findIndex((s) => s.cumulative >= needed) + 1, 40));
  const top = [...new Set([...allSteps.slice(0, 40), ...cut(accSteps)].map((s) => s.key))];
  let commit = '';
  try {
    commit = execFileSync('git', ['-C', repoRoot(), 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    commit = 'unknown';
  }
  return [
    "# Conformance report: libvirt's x86 test domains",
    '',
    `Generated by \`scripts/conformance-report.sh\` from ferry ${commit} on ${new Date().toISOString().slice(0, 10)}; the test is test/integration/libvirt-conformance.test.ts. Regenerate after every change to the parser, renderer or argv builder.`,
    '',
    ...headline(f),
    '## How to read this',
    '',
    '- A **refusal reason** is found by taking the element each refusal names out of the domain (the whole device, inside <devices>; the attribute or element, outside) and asking ferry again, until it accepts the rest: so every reason of a domain is listed, not only the first. Whatever sits inside a device that was taken out is not looked at, so a fix can uncover more.',
    "- **argv** reasons: a device of an accepted domain with no argument of its own on ferry's QEMU command line; `→` names the argument libvirt passes (test/helpers/conformance/device-args.ts, checked against libvirt's own command lines). **dumpxml** reasons: something of the definition that dumpxml does not give back.",
    "- Under the issue's rule (what ferry does not apply is refused), every argv/dumpxml reason is a refusal waiting to happen: the second worklist is the one that reaches 90 % for real. For a refused domain, its argv/dumpxml reasons are measured on what ferry accepted once the refusals were taken out.",
    '- Worklists are greedy: each step takes the fix that finishes the most domains, weighting a domain that needs k more fixes by 1/k; "finishes" counts the domains whose last reason it was.',
    '',
    '## 1. Worklist to 90 % accepted (refusals only)',
    '',
    ...stepsTable(accSteps, inScope, accepted),
    '## 2. Worklist to 90 % accepted and faithful (refusals + what accepted domains lose)',
    '',
    ...stepsTable(allSteps, inScope, clean),
    ...rankedTable(f, 'refused: ', '## 3. Every refusal reason, by the domains it blocks', f.refusedBy),
    ...rankedTable(f, 'argv: ', "## 4. Devices left off ferry's QEMU command line, by kind", f.allIssues),
    ...rankedTable(f, 'dumpxml: ', '## 5. What dumpxml loses or changes', f.allIssues),
    `## 6. The top ${top.length} reasons: libvirt's XML and the QEMU arguments libvirt builds for it`,
    '',
    "In worklist order (section 2, then the rest of section 1). The XML is one example as libvirt writes it back; the arguments are from the same domain's .args (the front end and the back ends it names).",
    '',
    ...details(f, top),
  ].join('\n');
}

const out = process.argv[2];
const text = report(gather());
if (out) writeFileSync(out, text);
else process.stdout.write(text);
