import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tpmCheck } from './tpm-check.js';

describe('the TPM emulator pre-flight check (real swtpm)', () => {
  it('passes where swtpm emulates the version; fails naming what is missing, with the package to install', async () => {
    const ok = await tpmCheck('2.0', 'hostb');
    assert.equal(ok.outcome, 'pass', ok.reason);
    assert.equal(ok.reason, 'swtpm on hostb emulates a TPM 2.0');

    const missing = await tpmCheck('2.0', 'hostb', { swtpm: '/nonexistent/swtpm', swtpmSetup: 'swtpm_setup' });
    assert.equal(missing.outcome, 'fail');
    assert.equal(missing.reason, 'the domain has an emulated TPM 2.0 and swtpm does not run on hostb: not installed');
    assert.equal(missing.hint, 'Install swtpm and swtpm-tools on hostb (apt-get install swtpm swtpm-tools)');
    assert.equal(missing.overridable, false);

    const noSetup = await tpmCheck('1.2', 'hostb', { swtpm: 'swtpm', swtpmSetup: '/nonexistent/swtpm_setup' });
    assert.equal(noSetup.outcome, 'fail');
    assert.match(noSetup.reason, /swtpm_setup is missing on hostb/);
  });
});
