import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatError, formatFields, formatTable } from './format.js';

describe('formatTable()', () => {
  it("prints virsh's list table: leading space, 3-space gaps, dashed rule of width+3 per column", () => {
    const out = formatTable(
      ['Id', 'Name', 'State'],
      [
        ['1', 'MasteringKVM01', 'running'],
        ['-', 'vm2', 'shut off'],
      ],
    );
    assert.equal(out, ' Id   Name             State\n' + `${'-'.repeat(33)}\n` + ' 1    MasteringKVM01   running\n' + ' -    vm2              shut off\n');
  });

  it('leaves the header out when asked (virsh --quiet)', () => {
    assert.equal(formatTable(['Id', 'Name'], [['1', 'a']], { header: false }), ' 1    a\n');
  });
});

describe('formatFields()', () => {
  it('pads keys to a fixed width like dominfo', () => {
    assert.equal(
      formatFields(
        [
          ['Id', '1'],
          ['Name', 'vm'],
        ],
        16,
      ),
      'Id:             1\nName:           vm\n',
    );
  });
});

describe('formatError()', () => {
  it('prints one error: line per message and the hint with its code', () => {
    assert.equal(
      formatError(["Failed to start domain 'x'", 'resource busy'], 'Run lock-list', 'LOCK_HELD'),
      "error: Failed to start domain 'x'\nerror: resource busy\nhint: Run lock-list [LOCK_HELD]\n",
    );
  });
});
