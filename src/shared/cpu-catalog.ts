// What a host's QEMU offers as CPUs (GET /v1/node/cpu-models): ferryd probes it (qemu/cpu-catalog.ts), the pre-flight
// checks and the CLI's cpu-compare / cpu-baseline read it. The types are their schemas'.
import { list, optional, record, type Static, text, textAs } from './typed-schema.js';

/** One named CPU model as QEMU reports it for the accelerator in use (query-cpu-definitions). */
export const cpuModelInfoSchema = record({
  name: text(),
  /** An alias (Skylake-Server) names the versioned model it stands for (Skylake-Server-v1). */
  aliasOf: optional(text('The versioned model an alias stands for')),
  /** The model's features this QEMU cannot give a guest under this accelerator (empty: it runs exactly). */
  unavailable: list(text()),
  /** The model's features (a static expansion's props that are on); absent for aliases (see aliasOf). */
  features: optional(list(text())),
});
export type CpuModelInfo = Static<typeof cpuModelInfoSchema>;

/** What a host's QEMU offers as CPUs: its models and, for the host CPU, what `max` (TCG) or `host` (KVM) expands to. */
export const cpuCatalogSchema = record({
  accel: textAs<'kvm' | 'tcg'>(),
  /** The model that stands for the host's CPU under this accelerator: 'host' with KVM, 'max' with TCG. */
  hostModel: textAs<'host' | 'max'>(),
  hostFeatures: list(text()),
  models: list(cpuModelInfoSchema),
});
export type CpuCatalog = Static<typeof cpuCatalogSchema>;
