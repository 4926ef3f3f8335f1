import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FerrydHost } from '../helpers/ferryd.js';
import { REPO_ROOT } from '../helpers/guest.js';
import { tempDir } from '../helpers/tmp.js';

const SCRIPT = join(REPO_ROOT, 'packaging/bash-completion/ferry');

/** Runs bash with the completion script sourced, COMP_WORDS/COMP_CWORD set to `words` (the last is the cursor's), and returns COMPREPLY. */
function complete(words: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const quoted = words.map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(' ');
  const script = `source '${SCRIPT}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}
    _ferry_complete ferry; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['--norc', '--noprofile', '-c', script],
      {
        env: { PATH: `${join(REPO_ROOT, 'bin')}:${process.env.PATH ?? ''}`, HOME: '/nonexistent', ...env },
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout.split('\n').filter(Boolean).sort());
      },
    );
  });
}

/**
 * packaging/bash-completion/ferry in a real bash against a real ferryd: verbs
 * by prefix, a verb's options, and the names of domains, pools, networks and
 * volumes that the daemon named by -c on the line (or the default URI) has.
 */
describe('bash completion: the script, `ferry complete` and a real ferryd', () => {
  const dir = tempDir('ferry-compl-');
  const host = new FerrydHost({ dir: join(dir.path, 'h') });
  const c = (...words: string[]): string[] => ['ferry', '-c', host.uri, ...words];

  before(async () => {
    await host.start();
    // Set up over the API (each CLI call costs a Node.js start): three domains, a pool with a volume, a network.
    const post = async (path: string, body: unknown): Promise<void> => {
      const r = await host.apiPost(path, body);
      assert.ok(r.status < 300, `${path}: ${r.status} ${JSON.stringify(r.body)}`);
    };
    for (const name of ['web1', 'web2', 'db1']) {
      await post('/v1/domains', { xml: `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>` });
    }
    await post('/v1/pools', { xml: `<pool type='dir'><name>images</name><target><path>${join(dir.path, 'pool')}</path></target></pool>` });
    await post('/v1/pools/images/start', { build: true });
    await post('/v1/pools/images/volumes', { name: 'root.qcow2', capacity: 1 << 20, format: 'qcow2' });
    await post('/v1/networks', { xml: "<network><name>labnet</name><bridge name='fcbr0'/><ip address='10.77.0.1' prefix='24'/></network>" });
  });

  after(async () => {
    await host.stopAll();
    dir.cleanup();
  });

  it("verbs by prefix (not the hidden complete verb), and a verb's options", async () => {
    const [dom, pool, comp, opts] = await Promise.all([
      complete(['ferry', 'domsta']),
      complete(['ferry', 'pool-d']),
      complete(['ferry', 'comp']),
      complete(c('start', '--')),
    ]);
    assert.deepEqual(dom, ['domstate', 'domstats']);
    assert.deepEqual(pool, ['pool-define', 'pool-define-as', 'pool-destroy', 'pool-dumpxml']);
    assert.deepEqual(comp, []);
    assert.deepEqual(opts, ['--domain', '--force-boot', '--help', '--paused']);
  });

  it('domain, pool, network and volume names come from the daemon that -c on the line names', async () => {
    // FERRY_DEFAULT_URI points nowhere: the names can only come from the daemon -c names.
    const nowhere = { FERRY_DEFAULT_URI: `ferry:///system?socket=${dir.path}/none.sock` };
    const got = await Promise.all([
      complete(c('start', 'we'), nowhere),
      complete(c('dominfo', ''), nowhere),
      complete(c('start', '--paused', '--domain', 'd'), nowhere),
      complete(c('pool-info', ''), nowhere),
      complete(c('net-start', 'l'), nowhere),
      complete(c('vol-info', '--pool', 'images', ''), nowhere),
      complete(['ferry', 'start', ''], nowhere),
      // Without -c, the default URI is asked.
      complete(['ferry', 'shutdown', 'w'], { FERRY_DEFAULT_URI: host.uri }),
    ]);
    assert.deepEqual(got, [
      ['web1', 'web2'],
      ['db1', 'web1', 'web2'],
      ['db1'],
      ['images'],
      ['labnet'],
      ['root.qcow2'],
      [], // no daemon there: nothing offered, nothing printed
      ['web1', 'web2'],
    ]);
  });
});
