import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { QEMU_BINARY } from '../helpers/guest.js';
import { eventually, killMatching, pidsMatching } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Whatever ferryd starts dies with it, however ferryd ends (issue: a ferryd
 * killed while its KVM probe hung left that QEMU running forever), and a
 * ferryd that starts removes what a killed one left in its state directory.
 * The KVM probe is made to hang the way it does on a nested host: a QEMU
 * stand-in that never exits when asked for KVM, and a KVM device to find.
 */
describe('processes ferryd starts do not outlive it', () => {
  const dir = tempDir('ferry-orphans-');
  const fakeKvm = `${dir.path}/kvm`;
  const qemu = `${dir.path}/qemu-kvm-hangs`;
  writeFileSync(fakeKvm, '');
  chmodSync(fakeKvm, 0o666); // as /dev/kvm is for the kvm group: QEMU's user may open it
  // Everything but the KVM probe goes to the real QEMU; the probe (-accel kvm) hangs, keeping its arguments in its command line.
  const hang = `exec python3 -c 'import time; time.sleep(3600)'`;
  writeFileSync(qemu, `#!/bin/sh\ncase " $* " in *" -accel kvm "*) ${hang} "$@" ;; esac\nexec ${QEMU_BINARY} "$@"\n`, { mode: 0o755 });
  writeFileSync(`${dir.path}/ferryd.conf`, `test_kvm_device = "${fakeKvm}"\ntest_kvm_probe_timeout_ms = 120000\n`);
  const host = (name: string, accel: 'auto' | 'tcg' = 'auto'): FerrydHost => {
    const h = new FerrydHost({ dir: `${dir.path}/${name}`, accel, qemuBinary: qemu, config: `${dir.path}/ferryd.conf` });
    hosts.push(h);
    return h;
  };
  const probes = (h: FerrydHost): number[] => pidsMatching(`${h.stateDir}/run/accel-probe/`);
  const hosts: FerrydHost[] = [];

  after(async () => {
    // Whatever a failed test left: its ferryd, and any probe still running.
    for (const h of hosts) {
      await h.stopAll();
    }
    killMatching(dir.path);
    dir.cleanup();
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${signal} to ferryd while its KVM probe hangs: the probe's QEMU dies with it`, async () => {
      const h = host(signal.toLowerCase());
      void h.spawn(); // the probe starts before ferryd serves: kill it wherever it is
      await eventually(() => probes(h).length === 1, 'the KVM probe runs (and hangs)');
      await h.kill(signal);
      await eventually(() => probes(h).length === 0, 'no probe left once ferryd is gone');
    });
  }

  it("a starting ferryd kills what a killed one left in its state directory and removes the probe's directory", async () => {
    const h = host('leftover', 'tcg');
    const probeDir = `${h.stateDir}/run/accel-probe/0`;
    mkdirSync(probeDir, { recursive: true });
    writeFileSync(`${probeDir}/boot.img`, '');
    // A probe QEMU of a ferryd from before the fix: detached, its own session, no death signal.
    const orphan = spawn('python3', ['-c', 'import time; time.sleep(3600)', '-drive', `file=${probeDir}/boot.img`], { detached: true, stdio: 'ignore' });
    orphan.unref();
    await eventually(() => probes(h).length === 1, 'the leftover probe runs');
    await h.start();
    await eventually(() => probes(h).length === 0, 'the leftover is killed');
    assert.equal(existsSync(`${h.stateDir}/run/accel-probe`), false, 'its directory is removed');
  });
});
