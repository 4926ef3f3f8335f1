import type { QemuMonitor } from './monitor.js';

/** Which side of a TLS connection a tls-creds object serves (qapi/crypto.json QCryptoTLSCredsEndpoint). */
export type TlsEndpoint = 'client' | 'server';

/** The QOM object commands of QEMU's monitor (object-add, object-del), typed for what ferry creates. */
export class ObjectMonitor {
  constructor(private readonly monitor: QemuMonitor) {}

  /**
   * A tls-creds-x509 object reading ca-cert.pem and {server,client}-{cert,key}.pem
   * from `dir` (QEMU loads and sanity-checks them here, so a bad file fails now).
   */
  async addTlsCredsX509(a: { id: string; dir: string; endpoint: TlsEndpoint; verifyPeer: boolean }): Promise<void> {
    await this.monitor.call('object-add', { 'qom-type': 'tls-creds-x509', id: a.id, dir: a.dir, endpoint: a.endpoint, 'verify-peer': a.verifyPeer });
  }

  async del(id: string): Promise<void> {
    await this.monitor.call('object-del', { id });
  }
}
