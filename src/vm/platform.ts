import { CLOCK_ATTRS } from './clock-offset.js';
import { child, el, type XmlElement } from '../shared/xml.js';
import type { ElementRule } from './schema/element-rule.js';
import { xmlInvalid } from './xml-errors.js';
import { oneOf, positiveInt } from './xml-values.js';
import { toKiB } from './memory-units.js';

/** <features>, <clock> and <pm>: the machine's platform, each part applied to QEMU's command line. */
export interface PlatformDefinition {
  /** <acpi/>: libvirt runs a domain without it with ACPI off. */
  acpi: boolean;
  apic: boolean;
  pae: boolean;
  vmport?: boolean;
  smm?: boolean;
  /** <apic eoi='on|off'>: KVM's paravirtual end-of-interrupt. */
  apicEoi?: boolean;
  pvspinlock?: boolean;
  pmu?: boolean;
  vmcoreinfo?: boolean;
  /** <smm><tseg>: the extended TSEG size in MiB (q35's mch.extended-tseg-mbytes). */
  tsegMiB?: number;
  /** <async-teardown enabled=>: QEMU frees guest memory in a separate process after it exits (-run-with async-teardown=on). */
  asyncTeardown?: boolean;
  /** <tcg><tb-cache>: TCG's translation block cache in MiB (-accel tcg,tb-size=); nothing under KVM. */
  tbCacheMiB?: number;
  /** <ioapic driver='qemu'|'kvm'>: split or in-kernel irqchip. */
  ioapic?: 'qemu' | 'kvm';
  /** <kvm><hidden state='on'>: hide KVM's signature from the guest. */
  kvmHidden?: boolean;
  /** <ps2 state='off'>: no i8042 controller. */
  ps2?: boolean;
  /** Hyper-V enlightenments by libvirt's name (relaxed, vapic, ...); spinlocks carries its retries. */
  hyperv?: {
    mode?: 'custom' | 'passthrough';
    flags: Record<string, boolean>;
    spinlockRetries?: number;
    /** <vendor_id state='on' value=>: the Hyper-V vendor id the guest sees (hv-vendor-id=, at most 12 characters). */
    vendorId?: string;
    /** Sub-features by parent: { stimer: { direct: true }, tlbflush: { direct: true, extended: false } }. */
    sub?: Record<string, Record<string, boolean>>;
  };
  /** <kvm><hint-dedicated>, <poll-control>, <pv-ipi>: KVM paravirt CPUID bits. */
  kvmFeatures?: Partial<Record<KvmFeature, boolean>>;
  /** <kvm><dirty-ring state='on' size=N>: KVM's dirty ring of N entries per vCPU (-accel kvm,dirty-ring-size=). */
  dirtyRingSize?: number;
  timers: TimerDefinition[];
  suspendToMem?: boolean;
  suspendToDisk?: boolean;
}

export const TIMER_NAMES = ['rtc', 'pit', 'hpet', 'hypervclock', 'kvmclock', 'tsc'] as const;
export interface TimerDefinition {
  name: (typeof TIMER_NAMES)[number];
  present?: boolean;
  tickpolicy?: 'delay' | 'catchup' | 'merge' | 'discard';
  /** rtc only: what the guest's RTC follows (QEMU's -rtc clock=: vm, host, rt). 'boot' is refused, as libvirt does. */
  track?: 'guest' | 'wall' | 'realtime';
  /** tsc only: the TSC frequency in Hz the guest sees (QEMU's -cpu tsc-frequency=); a migration keeps it. */
  frequency?: number;
}

/** The Hyper-V enlightenments ferry applies, with QEMU's -cpu flag of each. */
export const HYPERV_FLAGS: Record<string, string> = {
  relaxed: 'hv-relaxed',
  vapic: 'hv-vapic',
  spinlocks: 'hv-spinlocks',
  vpindex: 'hv-vpindex',
  runtime: 'hv-runtime',
  synic: 'hv-synic',
  stimer: 'hv-stimer',
  reset: 'hv-reset',
  frequencies: 'hv-frequencies',
  reenlightenment: 'hv-reenlightenment',
  tlbflush: 'hv-tlbflush',
  ipi: 'hv-ipi',
  evmcs: 'hv-evmcs',
  avic: 'hv-avic',
  vendor_id: 'hv-vendor-id',
  emsr_bitmap: 'hv-emsr-bitmap',
  xmm_input: 'hv-xmm-input',
};

/** Sub-features of a Hyper-V enlightenment (<stimer><direct/>, <tlbflush><direct/><extended/>), with QEMU's flag. */
export const HYPERV_SUBFLAGS: Record<string, Record<string, string>> = {
  stimer: { direct: 'hv-stimer-direct' },
  tlbflush: { direct: 'hv-tlbflush-direct', extended: 'hv-tlbflush-ext' },
};

/** <features><kvm> paravirt features (besides hidden), with QEMU's -cpu flag. */
export const KVM_FEATURE_FLAGS = { 'hint-dedicated': 'kvm-hint-dedicated', 'poll-control': 'kvm-poll-control', 'pv-ipi': 'kvm-pv-ipi' } as const;
export type KvmFeature = keyof typeof KVM_FEATURE_FLAGS;
const STATE = { attrs: { state: ['on', 'off'] } } as const;

function hypervRule(k: string): ElementRule {
  if (k === 'spinlocks') return { attrs: { state: ['on', 'off'], retries: true } };
  if (k === 'vendor_id') return { attrs: { state: ['on', 'off'], value: true } };
  const sub = HYPERV_SUBFLAGS[k];
  return sub ? { attrs: { state: ['on', 'off'] }, children: Object.fromEntries(Object.keys(sub).map((n) => [n, STATE])) } : STATE;
}

export const FEATURES_RULE: ElementRule = {
  children: {
    acpi: {},
    apic: { attrs: { eoi: ['on', 'off'] } },
    pae: {},
    vmport: STATE,
    smm: { attrs: { state: ['on', 'off'] }, children: { tseg: { attrs: { unit: true } } } },
    'async-teardown': { attrs: { enabled: ['yes', 'no'] } },
    tcg: { children: { 'tb-cache': { attrs: { unit: true } } } },
    pvspinlock: STATE,
    pmu: STATE,
    vmcoreinfo: STATE,
    ps2: STATE,
    ioapic: { attrs: { driver: ['qemu', 'kvm'] } },
    kvm: {
      children: {
        hidden: STATE,
        'hint-dedicated': STATE,
        'poll-control': STATE,
        'pv-ipi': STATE,
        'dirty-ring': { attrs: { state: ['on', 'off'], size: true } },
      },
    },
    hyperv: {
      attrs: { mode: ['custom', 'passthrough'] },
      children: Object.fromEntries(Object.keys(HYPERV_FLAGS).map((k) => [k, hypervRule(k)])),
    },
  },
};

export const CLOCK_RULE: ElementRule = {
  attrs: CLOCK_ATTRS,
  children: {
    timer: {
      attrs: {
        name: TIMER_NAMES,
        present: ['yes', 'no'],
        tickpolicy: ['delay', 'catchup', 'merge', 'discard'],
        track: ['guest', 'wall', 'realtime'],
        frequency: true,
      },
    },
  },
};

const ENABLED = { attrs: { enabled: ['yes', 'no'] } } as const;
export const PM_RULE: ElementRule = { children: { 'suspend-to-mem': ENABLED, 'suspend-to-disk': ENABLED } };

const onOff = (e: XmlElement | undefined): boolean | undefined => (e?.attrs.state === undefined ? (e ? true : undefined) : e.attrs.state === 'on');

export function parsePlatform(root: XmlElement): PlatformDefinition {
  const f = child(root, 'features');
  const result: PlatformDefinition = { acpi: !!f && !!child(f, 'acpi'), apic: !!f && !!child(f, 'apic'), pae: !!f && !!child(f, 'pae'), timers: [] };
  if (f) {
    const vmport = onOff(child(f, 'vmport'));
    if (vmport !== undefined) result.vmport = vmport;
    const smm = onOff(child(f, 'smm'));
    if (smm !== undefined) result.smm = smm;
    const tseg = child(child(f, 'smm') ?? f, 'tseg');
    if (child(f, 'smm') && tseg) {
      if (smm === false) throw xmlInvalid('tseg', "<tseg> is SMM's memory: it needs <smm state='on'>");
      const kib = toKiB(tseg.text, tseg.attrs.unit ?? 'MiB', 'tseg');
      if (kib % 1024 !== 0) throw xmlInvalid('tseg', 'SMM TSEG size must be divisible by 1 MiB');
      result.tsegMiB = kib / 1024;
    }
    const teardown = child(f, 'async-teardown')?.attrs.enabled;
    if (teardown !== undefined) result.asyncTeardown = teardown === 'yes';
    const tb = child(child(f, 'tcg') ?? f, 'tb-cache');
    if (child(f, 'tcg') && tb) {
      const kib = toKiB(tb.text, tb.attrs.unit ?? 'KiB', 'tb-cache');
      if (kib % 1024 !== 0 || kib === 0) throw xmlInvalid('tb-cache', 'the TCG translation block cache size must be a whole number of MiB');
      result.tbCacheMiB = kib / 1024;
    }
    const eoi = child(f, 'apic')?.attrs.eoi;
    if (eoi !== undefined) result.apicEoi = eoi === 'on';
    for (const k of ['pvspinlock', 'pmu', 'vmcoreinfo', 'ps2'] as const) {
      const v = onOff(child(f, k));
      if (v !== undefined) result[k] = v;
    }
    const ioapic = child(f, 'ioapic')?.attrs.driver;
    if (ioapic === 'qemu' || ioapic === 'kvm') result.ioapic = ioapic;
    const kvm = child(f, 'kvm');
    const hidden = kvm ? onOff(child(kvm, 'hidden')) : undefined;
    if (hidden !== undefined) result.kvmHidden = hidden;
    const kvmFeatures: Partial<Record<KvmFeature, boolean>> = {};
    for (const k of Object.keys(KVM_FEATURE_FLAGS) as KvmFeature[]) {
      const v = kvm ? onOff(child(kvm, k)) : undefined;
      if (v !== undefined) kvmFeatures[k] = v;
    }
    if (Object.keys(kvmFeatures).length > 0) result.kvmFeatures = kvmFeatures;
    const ring = kvm ? child(kvm, 'dirty-ring') : undefined;
    if (ring && ring.attrs.state !== 'off') {
      const size = positiveInt(ring.attrs.size ?? '', 'dirty-ring');
      // KVM takes a power of two from 1024 to 65536 entries, as libvirt checks.
      if (size < 1024 || size > 65536 || (size & (size - 1)) !== 0)
        throw xmlInvalid('dirty-ring', `dirty ring size '${size}' must be a power of two between 1024 and 65536`);
      result.dirtyRingSize = size;
    } else if (ring) result.dirtyRingSize = 0;
    const hv = child(f, 'hyperv');
    if (hv) {
      const flags: Record<string, boolean> = {};
      const hyperv: NonNullable<PlatformDefinition['hyperv']> = { flags };
      if (hv.attrs.mode === 'custom' || hv.attrs.mode === 'passthrough') hyperv.mode = hv.attrs.mode;
      for (const c of hv.children) {
        flags[c.name] = c.attrs.state !== 'off';
        if (c.name === 'vendor_id' && c.attrs.state !== 'off') {
          const value = c.attrs.value ?? '';
          if (value === '' || value.length > 12 || value.includes(','))
            throw xmlInvalid('vendor_id', `vendor_id value '${value}' must be 1 to 12 characters, without a comma`);
          hyperv.vendorId = value;
        }
        const subs = HYPERV_SUBFLAGS[c.name];
        if (subs) {
          const sub: Record<string, boolean> = {};
          for (const n of Object.keys(subs)) {
            const v = onOff(child(c, n));
            if (v !== undefined) sub[n] = v;
          }
          if (Object.keys(sub).length > 0) (hyperv.sub ??= {})[c.name] = sub;
        }
        if (c.name === 'spinlocks' && c.attrs.state !== 'off') {
          const retries = positiveInt(c.attrs.retries ?? '', 'spinlocks');
          if (retries < 4095) throw xmlInvalid('spinlocks', `retries '${retries}' must be at least 4095`);
          hyperv.spinlockRetries = retries;
        }
      }
      result.hyperv = hyperv;
    }
  }
  const clock = child(root, 'clock');
  for (const t of clock?.children ?? []) {
    const timer: TimerDefinition = { name: oneOf(t.attrs.name ?? '', TIMER_NAMES, 'timer', 'name') };
    if (t.attrs.present !== undefined) timer.present = t.attrs.present === 'yes';
    if (t.attrs.tickpolicy !== undefined)
      timer.tickpolicy = oneOf(t.attrs.tickpolicy, ['delay', 'catchup', 'merge', 'discard'] as const, 'timer', 'tickpolicy');
    if (timer.tickpolicy !== undefined && timer.name !== 'rtc' && timer.name !== 'pit') {
      throw xmlInvalid('timer', `timer '${timer.name}' takes no tickpolicy`);
    }
    if (timer.name === 'rtc' && (timer.tickpolicy === 'merge' || timer.tickpolicy === 'discard'))
      throw xmlInvalid('timer', `rtc tickpolicy '${timer.tickpolicy}' is not supported by QEMU`);
    if (timer.name === 'pit' && timer.tickpolicy === 'merge') throw xmlInvalid('timer', "pit tickpolicy 'merge' is not supported by QEMU");
    if (timer.present === false && (timer.name === 'rtc' || timer.name === 'pit')) throw xmlInvalid('timer', `timer '${timer.name}' cannot be removed on x86`);
    if (t.attrs.track !== undefined) {
      if (timer.name !== 'rtc') throw xmlInvalid('timer', `timer '${timer.name}' takes no track (only rtc)`);
      if (t.attrs.track === 'guest' || t.attrs.track === 'wall' || t.attrs.track === 'realtime') timer.track = t.attrs.track;
    }
    if (timer.name === 'tsc' && timer.present !== undefined)
      throw xmlInvalid('timer', "timer 'tsc' takes no present= (QEMU always gives an x86 guest its TSC); set its frequency= only");
    if (t.attrs.frequency !== undefined) {
      if (timer.name !== 'tsc') throw xmlInvalid('timer', `timer '${timer.name}' takes no frequency (only tsc)`);
      timer.frequency = positiveInt(t.attrs.frequency, 'timer frequency');
    }
    result.timers.push(timer);
  }
  const pm = child(root, 'pm');
  const mem = pm ? child(pm, 'suspend-to-mem')?.attrs.enabled : undefined;
  if (mem !== undefined) result.suspendToMem = mem === 'yes';
  const disk = pm ? child(pm, 'suspend-to-disk')?.attrs.enabled : undefined;
  if (disk !== undefined) result.suspendToDisk = disk === 'yes';
  return result;
}

const state = (b: boolean): string => (b ? 'on' : 'off');

/** <features>, <clock offset> and <pm>, as parsePlatform() reads them. */
export function renderPlatform(p: PlatformDefinition, clock: Record<string, string | number | undefined>): XmlElement[] {
  const features: Array<XmlElement | undefined> = [
    p.acpi ? el('acpi') : undefined,
    p.apic || p.apicEoi !== undefined ? el('apic', { eoi: p.apicEoi === undefined ? undefined : state(p.apicEoi) }) : undefined,
    p.pae ? el('pae') : undefined,
    p.hyperv
      ? el(
          'hyperv',
          { mode: p.hyperv.mode },
          Object.entries(p.hyperv.flags).map(([k, on]) =>
            el(
              k,
              {
                state: state(on),
                retries: k === 'spinlocks' && on ? p.hyperv?.spinlockRetries : undefined,
                value: k === 'vendor_id' && on ? p.hyperv?.vendorId : undefined,
              },
              Object.entries(p.hyperv?.sub?.[k] ?? {}).map(([n, v]) => el(n, { state: state(v) })),
            ),
          ),
        )
      : undefined,
    p.vmport === undefined ? undefined : el('vmport', { state: state(p.vmport) }),
    p.smm === undefined ? undefined : el('smm', { state: state(p.smm) }, p.tsegMiB === undefined ? [] : [el('tseg', { unit: 'MiB' }, String(p.tsegMiB))]),
    p.kvmHidden === undefined && p.kvmFeatures === undefined && p.dirtyRingSize === undefined
      ? undefined
      : el('kvm', {}, [
          p.kvmHidden === undefined ? undefined : el('hidden', { state: state(p.kvmHidden) }),
          ...Object.entries(p.kvmFeatures ?? {}).map(([k, v]) => el(k, { state: state(v) })),
          p.dirtyRingSize === undefined ? undefined : el('dirty-ring', { state: state(p.dirtyRingSize > 0), size: p.dirtyRingSize || undefined }),
        ]),
    p.pvspinlock === undefined ? undefined : el('pvspinlock', { state: state(p.pvspinlock) }),
    p.pmu === undefined ? undefined : el('pmu', { state: state(p.pmu) }),
    p.vmcoreinfo === undefined ? undefined : el('vmcoreinfo', { state: state(p.vmcoreinfo) }),
    p.ioapic === undefined ? undefined : el('ioapic', { driver: p.ioapic }),
    p.ps2 === undefined ? undefined : el('ps2', { state: state(p.ps2) }),
    p.asyncTeardown === undefined ? undefined : el('async-teardown', { enabled: p.asyncTeardown ? 'yes' : 'no' }),
    p.tbCacheMiB === undefined ? undefined : el('tcg', {}, [el('tb-cache', { unit: 'KiB' }, String(p.tbCacheMiB * 1024))]),
  ];
  const out: XmlElement[] = [];
  if (features.some((x) => x)) out.push(el('features', {}, features));
  out.push(
    el(
      'clock',
      clock,
      p.timers.map((t) =>
        el('timer', {
          name: t.name,
          track: t.track,
          tickpolicy: t.tickpolicy,
          present: t.present === undefined ? undefined : t.present ? 'yes' : 'no',
          frequency: t.frequency?.toString(),
        }),
      ),
    ),
  );
  if (p.suspendToMem !== undefined || p.suspendToDisk !== undefined) {
    const yn = (b: boolean | undefined): string | undefined => (b === undefined ? undefined : b ? 'yes' : 'no');
    out.push(
      el('pm', {}, [
        p.suspendToMem === undefined ? undefined : el('suspend-to-mem', { enabled: yn(p.suspendToMem) }),
        p.suspendToDisk === undefined ? undefined : el('suspend-to-disk', { enabled: yn(p.suspendToDisk) }),
      ]),
    );
  }
  return out;
}
