import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/tmp.js';
import { FerryError } from '../errors/ferry-error.js';
import { loadConfig } from './config.js';
import { parseConfFile } from './config-file.js';

describe('parseConfFile()', () => {
  it('reads libvirt\'s syntax: strings, numbers, lists and comments', () => {
    const m = parseConfFile('# comment\nlock_manager = "lockd"   # trailing\nport = 16520\nlist = [ "a", "b#c",\n  "d" ]\nempty = []\n');
    assert.equal(m.get('lock_manager')?.value, 'lockd');
    assert.equal(m.get('port')?.value, 16520);
    assert.deepEqual(m.get('list')?.value, ['a', 'b#c', 'd']);
    assert.deepEqual(m.get('empty')?.value, []);
  });

  it('names the line of a value it cannot parse', () => {
    assert.throws(() => parseConfFile('a = "x"\nb = unquoted\n', 'f.conf'), /f\.conf:2: cannot parse value unquoted/);
  });
});

describe('loadConfig()', () => {
  it('applies the file over the defaults and the command line over the file; refuses unknown keys', () => {
    const dir = tempDir('ferry-conf-');
    const f = `${dir.path}/ferryd.conf`;
    writeFileSync(f, 'accel = "tcg"\nstate_dir = "/srv/ferry"\njob_wait_timeout = 5\n');
    const c = loadConfig(f, { stateDir: '/override' });
    assert.deepEqual([c.accel, c.stateDir, c.jobWaitTimeout, c.socket], ['tcg', '/override', 5, '/run/ferry/ferryd.sock']);
    writeFileSync(f, 'acel = "tcg"\n');
    assert.throws(() => loadConfig(f), (e: unknown) => e instanceof FerryError && e.code === 'CONFIG_INVALID' && /ferryd.conf:1: unknown setting 'acel'/.test(e.message));
    writeFileSync(f, 'accel = "fast"\n');
    assert.throws(() => loadConfig(f), /accel must be "auto", "kvm" or "tcg"/);
    dir.cleanup();
  });
});
