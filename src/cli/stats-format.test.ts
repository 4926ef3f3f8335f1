import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDomblkstat, formatDomstats } from './stats-format.js';
import { statsParams } from '../host/domain-stats-params.js';

const counters = { name: 'vda', rd: { reqs: 1, bytes: 512, times: 30 }, wr: { reqs: 2, bytes: 1024, times: 40 }, fl: { reqs: 3, times: 50 } };

describe('domstats and domblkstat output', () => {
  it("domstats: virsh's Domain header, two-space indented field=value, a blank line after each record", () => {
    const params = statsParams({
      name: 'vm1',
      uuid: 'u',
      state: { state: 1, reason: 1 },
      balloon: {
        current: 131072,
        maximum: 131072,
        guest: [
          { tag: 'rss', value: 9 },
          { tag: 'last_update', value: 5 },
          { tag: 'swap_in', value: 0 },
        ],
      },
      vcpu: { current: 1, maximum: 2, vcpus: [{ id: 0, state: 1, time: 7, wait: 0 }] },
      net: [
        { name: 'vnet0', counters: { rx_bytes: 1, rx_packets: 2, rx_errs: 0, rx_drop: 0, tx_bytes: 3, tx_packets: 4, tx_errs: 0, tx_drop: 0 } },
        { name: '52:54:00:00:00:01' },
      ],
      block: [{ ...counters, path: '/img/a.raw', allocation: 0, capacity: 8 }],
    });
    assert.equal(
      formatDomstats([{ name: 'vm1', params }]),
      [
        "Domain: 'vm1'",
        '  state.state=1',
        '  state.reason=1',
        '  balloon.current=131072',
        '  balloon.maximum=131072',
        '  balloon.swap_in=0',
        '  balloon.rss=9',
        '  balloon.last-update=5',
        '  vcpu.current=1',
        '  vcpu.maximum=2',
        '  vcpu.0.state=1',
        '  vcpu.0.time=7',
        '  vcpu.0.wait=0',
        '  net.count=2',
        '  net.0.name=vnet0',
        '  net.0.rx.bytes=1',
        '  net.0.rx.pkts=2',
        '  net.0.rx.errs=0',
        '  net.0.rx.drop=0',
        '  net.0.tx.bytes=3',
        '  net.0.tx.pkts=4',
        '  net.0.tx.errs=0',
        '  net.0.tx.drop=0',
        '  net.1.name=52:54:00:00:00:01',
        '  block.count=1',
        '  block.0.name=vda',
        '  block.0.path=/img/a.raw',
        '  block.0.rd.reqs=1',
        '  block.0.rd.bytes=512',
        '  block.0.rd.times=30',
        '  block.0.wr.reqs=2',
        '  block.0.wr.bytes=1024',
        '  block.0.wr.times=40',
        '  block.0.fl.reqs=3',
        '  block.0.fl.times=50',
        '  block.0.allocation=0',
        '  block.0.capacity=8',
        '',
      ].join('\n'),
    );
    assert.equal(
      formatDomstats([
        { name: 'a', params: [{ field: 'state.state', value: 5 }] },
        { name: 'b', params: [] },
      ]),
      "Domain: 'a'\n  state.state=5\n\nDomain: 'b'\n",
      'a blank line between records, none after the last',
    );
  });

  it("domblkstat: virsh's legacy field names after the device, or its --human labels padded to 31", () => {
    assert.equal(
      formatDomblkstat('vda', counters, false),
      [
        'vda rd_req 1',
        'vda rd_bytes 512',
        'vda wr_req 2',
        'vda wr_bytes 1024',
        'vda flush_operations 3',
        'vda rd_total_times 30',
        'vda wr_total_times 40',
        'vda flush_total_times 50',
        '',
      ].join('\n'),
    );
    assert.match(formatDomblkstat('', counters, false), /^ rd_req 1\n rd_bytes 512\n/, 'no device: the sum, with an empty device name');
    assert.equal(
      formatDomblkstat('vda', counters, true).split('\n').slice(0, 3).join('\n'),
      'Device: vda\n number of read operations:      1\n number of bytes read:           512',
    );
  });
});
