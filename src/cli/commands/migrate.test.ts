import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliFailure } from '../context.js';
import { migrationOptionsFrom } from './migrate.js';

describe('migrationOptionsFrom()', () => {
  it('maps virsh flags onto migration options', () => {
    const o = migrationOptionsFrom({
      live: true,
      persistent: true,
      undefinesource: true,
      compressed: true,
      compMethods: 'zstd',
      parallel: true,
      parallelConnections: 4,
      bandwidth: 100,
      timeout: 30,
      timeoutSuspend: true,
      autoConverge: true,
    });
    assert.deepEqual(
      {
        live: o.live,
        persistent: o.persistent,
        undefineSource: o.undefineSource,
        methods: o.compMethods,
        parallel: o.parallel,
        pc: o.parallelConnections,
        bw: o.bandwidth,
        t: o.timeout,
        action: o.timeoutAction,
        ac: o.autoConverge,
      },
      { live: true, persistent: true, undefineSource: true, methods: ['zstd'], parallel: true, pc: 4, bw: 100, t: 30, action: 'suspend', ac: true },
    );
    assert.equal(migrationOptionsFrom({ live: true, timeout: 5 }).timeoutAction, 'abort', '--timeout alone aborts');
    assert.equal(migrationOptionsFrom({ live: true, postcopy: true, postcopyBandwidth: 16 }).postcopyBandwidth, 16, '--postcopy-bandwidth');
    assert.equal(migrationOptionsFrom({ parallel: false }).parallel, false, '--no-parallel');
    const tls = migrationOptionsFrom({ live: true, tls: true, tlsDestination: 'host-b.example' });
    assert.deepEqual({ tls: tls.tls, tlsDestination: tls.tlsDestination }, { tls: true, tlsDestination: 'host-b.example' });
    assert.equal(migrationOptionsFrom({ live: true }).tls, false, 'plain unless --tls (or migrate_tls_force on the source)');
  });

  it('refuses what virsh refuses', () => {
    const refuses = (f: Parameters<typeof migrationOptionsFrom>[0], msg: RegExp): void => {
      assert.throws(
        () => migrationOptionsFrom(f),
        (e: unknown) => e instanceof CliFailure && msg.test(e.messages.join(' ')),
      );
    };
    refuses({ offline: true }, /VIR_MIGRATE_OFFLINE requires VIR_MIGRATE_PERSIST_DEST/);
    refuses({ offline: true, persistent: true, live: true }, /--live and --offline are mutually exclusive/);
    refuses({ live: true, timeoutSuspend: true }, /need --timeout/);
    refuses({ live: true, timeout: 5, timeoutPostcopy: true }, /requires --postcopy/);
    refuses({ timeout: 5 }, /Unexpected timeout for offline migration/);
    refuses({ compressed: true, compMethods: 'mt' }, /Unsupported compression method 'mt'/);
    refuses({ parallelConnections: 3 }, /requires --parallel/);
    refuses({ live: true, migrateDisks: 'vda' }, /need --copy-storage-all/);
    refuses({ live: true, copyStorageAll: true, copyStorageInc: true }, /mutually exclusive/);
  });
});
