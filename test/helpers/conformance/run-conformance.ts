import { parseXml, type XmlElement } from '../../../src/shared/xml.js';
import { devicesOnArgv, type MissingDevice } from './devices-on-argv.js';
import { deviceLosses, type Loss, settingLosses } from './dumpxml-losses.js';
import { type Refusal, runFerry } from './ferry-adapter.js';
import type { LibvirtCase } from './fixture.js';
import { hostRequirements } from './host-requirements.js';
import { readArgsFile, readArgv } from './qemu-args.js';
import { namesAnElementOf } from './refusal-reason.js';

/** What the harness found for one test domain. */
export interface CaseResult {
  name: string;
  domain: XmlElement;
  /** Host-requirement rules it falls under (host-requirements.ts), each with the element: out of the denominator. */
  needsHost: string[];
  /** libvirt itself will not start it (its test has an .err and no .args): out of the denominator too. */
  libvirtRefuses: boolean;
  inScope: boolean;
  accepted: boolean;
  refusals: Refusal[];
  /** Refusals whose message and details name no element of the document. */
  unnamed: Refusal[];
  /** Devices of the definition that dumpxml lost or changed. */
  deviceLosses: Loss[];
  /** The same outside <devices> (vcpu/@cpuset, cpu/@match, ...). */
  settingLosses: Loss[];
  /** buildQemuArgv threw for an accepted definition. */
  argvError?: string;
  /** Devices with no argument of their own on ferry's command line. */
  missingOnArgv: MissingDevice[];
  /** Devices the mapping finds no argument for on libvirt's own command line (device-args.ts calibration). */
  missingOnLibvirtArgv?: MissingDevice[];
}

/**
 * libvirt test domains whose own command line the mapping cannot explain for a
 * reason outside the XML; the calibration skips them, named with that reason.
 */
export const CALIBRATION_EXCEPTIONS: Readonly<Record<string, string>> = {
  'disk-startuppolicy-optional-drop': "the optional disk's volume is missing when the test starts, so libvirt drops it",
  'net-virtio-teaming-network': "the test driver's 'hostdev;...' network turns the interface into a vfio-pci device",
};

export function runCase(c: LibvirtCase): CaseResult {
  const domain = parseXml(c.xml);
  const needsHost = hostRequirements(domain).map((h) => `${h.rule.id} (${h.at})`);
  const libvirtRefuses = c.err !== undefined && c.args === undefined;
  const outcome = runFerry(c.xml);
  const result: CaseResult = {
    name: c.name,
    domain,
    needsHost,
    libvirtRefuses,
    inScope: needsHost.length === 0 && !libvirtRefuses,
    accepted: outcome.accepted,
    refusals: outcome.accepted ? [] : outcome.refusals,
    unnamed: outcome.accepted ? [] : outcome.refusals.filter((r) => !namesAnElementOf(r, domain)),
    deviceLosses: [],
    settingLosses: [],
    missingOnArgv: [],
  };
  if (outcome.accepted) {
    const dumped = parseXml(outcome.dumpxml);
    result.deviceLosses = deviceLosses(domain, dumped);
    result.settingLosses = settingLosses(domain, dumped);
    if ('argvError' in outcome) result.argvError = outcome.argvError;
    else result.missingOnArgv = devicesOnArgv(domain, readArgv(outcome.argv)).missing;
  }
  if (c.args !== undefined && CALIBRATION_EXCEPTIONS[c.name] === undefined) {
    result.missingOnLibvirtArgv = devicesOnArgv(domain, readArgv(readArgsFile(c.args))).missing;
  }
  return result;
}

/** Losses that count as drops: everything but a changed value that only differs in case (MAC addresses, UUIDs). */
export function drops(losses: readonly Loss[]): Loss[] {
  return losses.filter((l) => !(l.kind === 'changed' && /^'([^']*)' → '([^']*)'$/.test(l.detail) && sameIgnoringCase(l.detail)));
}

function sameIgnoringCase(detail: string): boolean {
  const m = /^'([^']*)' → '([^']*)'$/.exec(detail);
  return m !== null && (m[1] as string).toLowerCase() === (m[2] as string).toLowerCase();
}
