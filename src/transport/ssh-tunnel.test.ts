import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { SshTunnel, sshArgs } from './ssh-tunnel.js';

describe('the ssh transport', () => {
  it("runs ssh in batch mode with a forwarded socket and the URI's options", () => {
    const args = sshArgs({ host: 'h2', port: 2222, user: 'root', keyFile: '/k', knownHosts: '/kh', remoteSocket: '/run/ferry/ferryd.sock' }, '/tmp/t/l.sock');
    const joined = args.join(' ');
    assert.match(joined, /-o BatchMode=yes/);
    assert.match(joined, /-o ExitOnForwardFailure=yes/);
    assert.match(joined, /-L \/tmp\/t\/l\.sock:\/run\/ferry\/ferryd\.sock/);
    assert.match(joined, /-p 2222 -l root -i \/k -o IdentitiesOnly=yes -o UserKnownHostsFile=\/kh -o StrictHostKeyChecking=yes -- h2$/);
    assert.match(sshArgs({ host: 'h2', noVerify: true, remoteSocket: '/s' }, '/l').join(' '), /StrictHostKeyChecking=no -o UserKnownHostsFile=\/dev\/null/);
  });

  it("reports ssh's own reason when ssh fails (here: an ssh that is not there)", async () => {
    await assert.rejects(
      SshTunnel.open({ host: 'h2', remoteSocket: '/s', sshBinary: '/nonexistent/ssh', timeoutMs: 2000 }),
      (e: unknown) =>
        e instanceof FerryError &&
        e.code === 'CONNECT_FAILED' &&
        /Cannot connect to h2 with ssh: .*\/nonexistent\/ssh: No such file or directory/.test(e.message),
    );
  });

  it('reports the exit of ssh with its last line and the matching hint', async () => {
    // A stand-in that fails as OpenSSH does without an authorized key (the real sshd case is in test/e2e/transports).
    const dir = tempDir('ferry-fake-ssh-');
    const fake = `${dir.path}/ssh`;
    writeFileSync(fake, '#!/bin/sh\necho "root@h2: Permission denied (publickey)." >&2\nexit 255\n', { mode: 0o755 });
    await assert.rejects(
      SshTunnel.open({ host: 'h2', user: 'root', remoteSocket: '/s', sshBinary: fake, timeoutMs: 5000 }),
      (e: unknown) =>
        e instanceof FerryError &&
        e.message === 'Cannot connect to root@h2 with ssh: root@h2: Permission denied (publickey).' &&
        /ssh-copy-id root@h2/.test(e.hint),
    );
  });
});
