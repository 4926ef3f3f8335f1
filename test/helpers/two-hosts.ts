import { eventually } from './processes.js';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { FerrydHost } from './ferryd.js';
import { guestXml, type GuestXmlOptions } from './guest.js';
import { waitHeartbeats } from './heartbeat.js';
import { tempDir } from './tmp.js';

/** A free TCP port on loopback. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Two hosts on this machine: ferryd A and ferryd B, each with its own state
 * and socket and a peer API on loopback, as the migration tests need.
 */
export class TwoHosts {
  readonly dir = tempDir('ferry-mig-');
  a!: FerrydHost;
  b!: FerrydHost;
  aPeer = '';
  bPeer = '';

  /** Starts both hosts; `config` is ferryd.conf text for both, `extraConfigB` is added for B only. */
  async start(options: { config?: string; extraConfigB?: string; launcherB?: string[]; beforeStart?: (h: FerrydHost) => void } = {}): Promise<this> {
    const [pa, pb] = [await freePort(), await freePort()];
    let configA: string | undefined;
    let configB: string | undefined;
    if (options.config) {
      configA = `${this.dir.path}/a.conf`;
      writeFileSync(configA, options.config);
    }
    if (options.config || options.extraConfigB) {
      configB = `${this.dir.path}/b.conf`;
      writeFileSync(configB, `${options.config ?? ''}\n${options.extraConfigB ?? ''}\n`);
    }
    this.a = new FerrydHost({ dir: `${this.dir.path}/a`, listenTcp: `127.0.0.1:${pa}`, ...(configA ? { config: configA } : {}) });
    this.b = new FerrydHost({
      dir: `${this.dir.path}/b`,
      listenTcp: `127.0.0.1:${pb}`,
      ...(configB ? { config: configB } : {}),
      ...(options.launcherB ? { launcher: options.launcherB } : {}),
    });
    this.aPeer = `ferry+tcp://127.0.0.1:${pa}/system`;
    this.bPeer = `ferry+tcp://127.0.0.1:${pb}/system`;
    for (const h of [this.a, this.b]) options.beforeStart?.(h);
    await Promise.all([this.a.start(), this.b.start()]);
    return this;
  }

  /** Defines and starts a test guest on A and waits for its first heartbeats. */
  async bootOnA(o: GuestXmlOptions): Promise<void> {
    const file = `${this.dir.path}/${o.name}.xml`;
    writeFileSync(file, guestXml(o));
    await this.a.ok('define', file);
    await this.a.ok('start', o.name);
    await waitHeartbeats(() => this.a.serialLog(o.name), 2, { timeoutMs: 90_000 });
    // Settled: ferry-devices has loaded the guest's drivers and printed its report (guest/ferry-devices). Until then
    // the guest's boot dirties memory in bursts, and a migration's dirty-rate reading would plan for the burst.
    await eventually(() => /ferry-guest: report done/.test(this.a.serialLog(o.name)), `${o.name}'s device report`, 90_000);
  }

  /** The serial output of a guest on both hosts together (it moves between them). */
  serial(name: string): string {
    return this.a.serialLog(name) + this.b.serialLog(name);
  }

  /** Stops both hosts; the directory goes unless `keep` (the caller removes it). */
  async stop(o: { keep?: boolean } = {}): Promise<void> {
    for (const h of [this.a, this.b]) {
      if (!h) continue;
      const names = (await h.ferry('list', '--name')).stdout.split('\n').filter(Boolean);
      for (const n of names) await h.ferry('destroy', n);
      await h.stopAll();
    }
    if (!o.keep) this.dir.cleanup();
  }
}
