import { join } from 'node:path';
import { ClusterCa } from '../src/transport/cluster-ca.js';
import type { LabPlan } from './plan.js';

/** Where the lab's operator certificates go: an admin and a read-only one. */
export function labClientPkiDir(plan: LabPlan, who: 'admin' | 'readonly'): string {
  return join(plan.pkiDir, 'clients', who);
}

/**
 * The lab's cluster CA (made by ferry's own cert commands' code), a host
 * certificate per host valid for its name and both its addresses (so --tls
 * migrations to the migration address verify), and two operator certificates.
 */
export async function issueLabCertificates(plan: LabPlan): Promise<ClusterCa> {
  const ca = new ClusterCa(plan.pkiDir);
  await ca.create({ name: `ferry lab ${plan.prefix} CA`, days: 30 });
  await Promise.all(
    plan.hosts.map((h) =>
      ca.issueHost({
        hostname: h.name,
        dnsNames: [`${h.name}.lab`],
        addresses: [h.mgmtAddress, h.migrationAddress],
        out: h.tlsDir,
        days: 30,
      }),
    ),
  );
  await ca.issueClient({ name: 'lab-admin', readonly: false, out: labClientPkiDir(plan, 'admin'), days: 30 });
  await ca.issueClient({ name: 'lab-readonly', readonly: true, out: labClientPkiDir(plan, 'readonly'), days: 30 });
  return ca;
}
