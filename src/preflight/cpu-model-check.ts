import { compareCpu } from '../cpu/cpu-compare.js';
import type { CpuDescription } from '../cpu/cpu-descriptions.js';
import { canonicalFeature } from '../cpu/feature-names.js';
import type { CpuCatalog } from '../shared/cpu-catalog.js';
import { type CheckResult, fail, pass, warn } from '../shared/check-result.js';
import type { PreflightRequest } from '../shared/peer-protocol/preflight-messages.js';

type RequestCpu = PreflightRequest['domain']['cpu'];

/** The <cpu> of a pre-flight request as a compare input. */
export function describeRequestCpu(cpu: RequestCpu): CpuDescription {
  return {
    mode: 'custom',
    ...(cpu.model ? { model: cpu.model } : {}),
    features: (cpu.features ?? []).map((f) => ({ policy: f.policy as CpuDescription['features'][number]['policy'], name: canonicalFeature(f.name) })),
  };
}

/** The features of a custom CPU that this host's QEMU cannot give under its accelerator (sorted; empty: it runs exactly). */
export function missingCpuFeatures(catalog: CpuCatalog, cpu: RequestCpu): string[] {
  const c = compareCpu(catalog, describeRequestCpu(cpu));
  return c.result === 'incompatible' ? c.missing : [];
}

/**
 * Can the destination's QEMU run the guest's named CPU model exactly? The
 * model's unavailable features under the destination's accelerator and the
 * required features it lacks, less those the guest never had (missing on the
 * source too: QEMU without enforce starts without them). check='full' is
 * QEMU's enforce, which refuses to start: not overridable. The default
 * ('partial') refuses, overridable with --unsafe (QEMU would start and the
 * guest lose the features mid-run); check='none' only warns.
 */
export function cpuModelCheck(cpu: RequestCpu, catalog: CpuCatalog, hostname: string): CheckResult {
  const model = cpu.model as string;
  if (!catalog.models.some((m) => m.name === model)) {
    return fail(
      'cpu',
      `CPU model '${model}' is not supported by QEMU on ${hostname}`,
      'Choose a CPU model both hosts support ("qemu-system-x86_64 -cpu help")',
    );
  }
  const accel = catalog.accel.toUpperCase();
  const missing = missingCpuFeatures(catalog, cpu);
  const hadNot = new Set((cpu.sourceMissing ?? []).map(canonicalFeature));
  const lost = missing.filter((f) => !hadNot.has(f));
  if (lost.length === 0) {
    return pass(
      'cpu',
      missing.length === 0
        ? `model ${model} runs exactly under ${accel}`
        : `model ${model} runs without ${missing.join(', ')} under ${accel}, as on the source`,
    );
  }
  const text = `CPU model '${model}' on ${hostname} lacks ${lost.join(', ')} (under ${accel})`;
  const hint = 'Migrate to a host whose CPU has them, or give the domain a model every host runs ("ferry hypervisor-cpu-baseline", docs/cpu-models.md)';
  if (cpu.check === 'full') return fail('cpu', `${text}: QEMU refuses to start it (check='full' is QEMU's enforce)`, hint);
  if (cpu.check === 'none') return warn('cpu', `${text}: check='none', the guest would lose them`, hint, true);
  return fail('cpu', `${text}: the guest would lose them`, hint, true);
}
