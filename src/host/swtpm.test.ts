import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { parseDomainXml } from '../vm/parse-domain-xml.js';
import { HostPaths } from './host-paths.js';
import { SwtpmRunner } from './swtpm.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The swtpm runner against the real swtpm and swtpm_setup (no QEMU): the single-file state backend and the state's copy. */
describe('SwtpmRunner (real swtpm)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-swtpm-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("makes a <source type='file'> state at first start, serves a socket until stopped, and its files go to another host", async () => {
    const def = parseDomainXml(`<domain type='kvm'><name>t</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>131072</memory>
      <os><type machine='q35'>hvm</type></os><devices><tpm model='tpm-crb'><backend type='emulator' version='2.0'>
      <active_pcr_banks><sha256/></active_pcr_banks><source type='file' path='${dir}/a/state/tpm.bin'/></backend></tpm></devices></domain>`);
    const a = new SwtpmRunner({ paths: new HostPaths(`${dir}/a`), account: undefined, log: pino({ level: 'silent' }) });
    const runDir = new HostPaths(`${dir}/a`).domainRunDir(def.uuid);
    mkdirSync(runDir, { recursive: true });
    const socket = await a.start(def);
    assert.equal(socket, `${runDir}/swtpm.sock`);
    assert.ok(existsSync(`${dir}/a/state/tpm.bin`));
    assert.match(readFileSync(`${dir}/a/log/t-swtpm.log`, 'utf8'), /Successfully activated PCR banks sha256/);
    const pid = Number(readFileSync(`${runDir}/swtpm.pid`, 'utf8'));
    assert.ok(alive(pid));
    await a.stop(def.uuid);
    assert.equal(alive(pid), false);

    const files = a.readState(def);
    assert.deepEqual(Object.keys(files), ['']);
    const moved = structuredClone(def);
    if (moved.devices.tpm?.backend.type === 'emulator') moved.devices.tpm.backend.source = { type: 'file', path: `${dir}/b/elsewhere/tpm.bin` };
    const b = new SwtpmRunner({ paths: new HostPaths(`${dir}/b`), account: undefined, log: pino({ level: 'silent' }) });
    b.writeState(moved, files);
    assert.deepEqual(readFileSync(`${dir}/b/elsewhere/tpm.bin`), readFileSync(`${dir}/a/state/tpm.bin`));

    a.removeState(def);
    assert.equal(existsSync(`${dir}/a/state/tpm.bin`), false);
  });
});
