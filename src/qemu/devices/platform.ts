import { clockOf, rtcBase } from '../../vm/clock-offset.js';
import type { DomainDefinition } from '../../vm/definition.js';
import { HYPERV_FLAGS, HYPERV_SUBFLAGS, KVM_FEATURE_FLAGS, type KvmFeature } from '../../vm/platform.js';

/** -machine's options from <features> and <clock> (after the machine type). */
export function machineOptions(def: DomainDefinition): string[] {
  const p = def.platform;
  const opts = ['usb=off', `dump-guest-core=${def.dumpCore ?? 'off'}`];
  if (!p.acpi) opts.push('acpi=off');
  if (p.vmport !== undefined) opts.push(`vmport=${p.vmport ? 'on' : 'off'}`);
  if (p.smm !== undefined) opts.push(`smm=${p.smm ? 'on' : 'off'}`);
  if (p.ioapic !== undefined) opts.push(`kernel-irqchip=${p.ioapic === 'qemu' ? 'split' : 'on'}`);
  if (p.ps2 !== undefined) opts.push(`i8042=${p.ps2 ? 'on' : 'off'}`);
  const hpet = p.timers.find((t) => t.name === 'hpet');
  if (hpet?.present !== undefined) opts.push(`hpet=${hpet.present ? 'on' : 'off'}`);
  // <sound model='pcspk'>: the machine's PC speaker plays to its <audio> (libvirt 11: pcspk-audiodev=audioN).
  const pcspk = def.devices.sounds.find((s) => s.model === 'pcspk');
  if (pcspk?.audioId !== undefined) opts.push(`pcspk-audiodev=audio${pcspk.audioId}`);
  return opts;
}

/** The -cpu flags <features><hyperv> and the hypervclock/kvmclock timers stand for. */
export function platformCpuFlags(def: DomainDefinition): string[] {
  const p = def.platform;
  const flags: string[] = [];
  if (p.hyperv?.mode === 'passthrough') flags.push('hv-passthrough=on');
  for (const [name, on] of Object.entries(p.hyperv?.flags ?? {})) {
    const flag = HYPERV_FLAGS[name] as string;
    if (name === 'spinlocks') flags.push(on ? `${flag}=0x${(p.hyperv?.spinlockRetries ?? 0x1fff).toString(16)}` : `${flag}=0xffffffff`);
    // No vendor id is QEMU's default (an empty one); off writes none.
    else if (name === 'vendor_id') {
      if (on) flags.push(`${flag}=${p.hyperv?.vendorId}`);
    } else flags.push(`${flag}=${on ? 'on' : 'off'}`);
    for (const [sub, subOn] of Object.entries(p.hyperv?.sub?.[name] ?? {})) flags.push(`${HYPERV_SUBFLAGS[name]?.[sub]}=${subOn ? 'on' : 'off'}`);
  }
  if (p.apicEoi !== undefined) flags.push(`kvm-pv-eoi=${p.apicEoi ? 'on' : 'off'}`);
  if (p.pvspinlock !== undefined) flags.push(`kvm-pv-unhalt=${p.pvspinlock ? 'on' : 'off'}`);
  if (p.pmu !== undefined) flags.push(`pmu=${p.pmu ? 'on' : 'off'}`);
  if (p.kvmHidden !== undefined) flags.push(`kvm=${p.kvmHidden ? 'off' : 'on'}`);
  for (const [k, on] of Object.entries(p.kvmFeatures ?? {})) flags.push(`${KVM_FEATURE_FLAGS[k as KvmFeature]}=${on ? 'on' : 'off'}`);
  for (const t of p.timers) {
    if (t.name === 'hypervclock' && t.present !== undefined) flags.push(`hv-time=${t.present ? 'on' : 'off'}`);
    if (t.name === 'kvmclock' && t.present !== undefined) flags.push(`kvmclock=${t.present ? 'on' : 'off'}`);
    if (t.name === 'tsc' && t.frequency !== undefined) flags.push(`tsc-frequency=${t.frequency}`);
  }
  return flags;
}

/** -rtc and the -global switches for timers' tick policies and the guest's sleep states. */
export function platformArgs(def: DomainDefinition, q35: boolean, now: Date = new Date()): string[] {
  const p = def.platform;
  const rtc = p.timers.find((t) => t.name === 'rtc');
  const track = rtc?.track === undefined ? '' : `,clock=${{ guest: 'vm', wall: 'host', realtime: 'rt' }[rtc.track]}`;
  const out = ['-rtc', `base=${rtcBase(clockOf(def), now)}${track}${rtc?.tickpolicy === 'catchup' ? ',driftfix=slew' : ''}`];
  const pit = p.timers.find((t) => t.name === 'pit');
  const policy = { delay: 'delay', catchup: 'slew', discard: 'discard', merge: undefined }[pit?.tickpolicy ?? 'merge'];
  if (policy) out.push('-global', `kvm-pit.lost_tick_policy=${policy}`);
  const pm = q35 ? 'ICH9-LPC' : 'PIIX4_PM';
  if (p.suspendToMem !== undefined) out.push('-global', `${pm}.disable_s3=${p.suspendToMem ? 0 : 1}`);
  if (p.suspendToDisk !== undefined) out.push('-global', `${pm}.disable_s4=${p.suspendToDisk ? 0 : 1}`);
  if (p.vmcoreinfo) out.push('-device', 'vmcoreinfo');
  if (p.tsegMiB !== undefined) out.push('-global', `mch.extended-tseg-mbytes=${p.tsegMiB}`);
  return out;
}
