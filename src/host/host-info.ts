import { formatVersion } from '../qemu/binary.js';
import { FERRY_VERSION } from '../shared/version.js';
import type { DomainRecord } from '../store/domain-store.js';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { currentVcpus } from '../vm/vcpus.js';
import { processCpuSeconds, processDacLabel } from './node-info.js';
import type { QemuCapabilities } from './qemu-capabilities.js';
import type { RunningDomain } from './running-domain.js';
import type { DomainInfo, VersionInfo } from '../shared/api-types.js';

/** virsh dominfo of a domain, from its record and, while it runs, its QEMU process. */
export function domainInfo(rec: DomainRecord, vm: RunningDomain | undefined, managedSave: boolean): DomainInfo {
  const def = parseDomainXml((rec.liveXml ?? rec.persistentXml) as string);
  return {
    id: rec.domainId,
    name: rec.name,
    uuid: rec.uuid,
    osType: 'hvm',
    state: rec.state,
    reason: rec.reason,
    vcpus: currentVcpus(def),
    cpuTimeSeconds: vm ? (processCpuSeconds(vm.pid) ?? null) : null,
    maxMemoryKiB: def.memoryKiB,
    usedMemoryKiB: vm ? def.currentMemoryKiB : def.currentMemoryKiB,
    persistent: rec.persistentXml !== null,
    autostart: rec.autostart,
    securityLabel: rec.pid !== null && rec.liveXml !== null ? (processDacLabel(rec.pid) ?? null) : null,
    taints: rec.taints,
    managedSave,
  };
}

/** virsh version: ferry's, and the QEMU binary's with its accelerator (null, with the reason, when it cannot be asked). */
export async function hostVersion(caps: QemuCapabilities, host: { qemuBinary: string; hostname: string }): Promise<VersionInfo> {
  const path = host.qemuBinary;
  const base = { ferry: FERRY_VERSION, qemuBinary: path, hostname: host.hostname };
  try {
    const [info, accel] = await Promise.all([caps.binary(path), caps.accel(path)]);
    return { ...base, qemu: formatVersion(info.version), qemuPackage: info.package, accel: accel.accel, accelReason: accel.reason };
  } catch (err) {
    return { ...base, qemu: null, qemuPackage: null, accel: null, accelReason: (err as Error).message };
  }
}
