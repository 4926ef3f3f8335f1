import assert from 'node:assert/strict';
import type { FerrydHost } from './ferryd.js';
import { untilPasses } from './processes.js';

/** The test guest's agent channel (qemu-ga runs on it: guest/ferry-devices). */
export const AGENT_CHANNEL = `<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>`;

/** Runs a shell script in the guest through qemu-ga's guest-exec (`ferry qemu-agent-command`); its standard output. */
export async function guestSh(host: FerrydHost, name: string, script: string): Promise<string> {
  const exec = { execute: 'guest-exec', arguments: { path: '/bin/sh', arg: ['-c', script], 'capture-output': true } };
  const started = JSON.parse(await host.ok('qemu-agent-command', name, JSON.stringify(exec))) as { return: { pid: number } };
  return untilPasses('guest-exec finishes', async () => {
    const status = { execute: 'guest-exec-status', arguments: { pid: started.return.pid } };
    const r = (
      JSON.parse(await host.ok('qemu-agent-command', name, JSON.stringify(status))) as {
        return: { exited: boolean; exitcode?: number; 'out-data'?: string; 'err-data'?: string };
      }
    ).return;
    if (!r.exited) throw new Error('still running');
    const out = Buffer.from(r['out-data'] ?? '', 'base64').toString();
    assert.equal(r.exitcode, 0, `${script}\n${out}\n${Buffer.from(r['err-data'] ?? '', 'base64').toString()}`);
    return out;
  });
}
