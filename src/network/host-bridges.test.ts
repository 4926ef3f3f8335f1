import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError } from '../errors/ferry-error.js';
import { LinuxBridges } from './host-bridges.js';

describe('LinuxBridges.create()', () => {
  it("runs ip as libvirt configures an isolated network's bridge", async () => {
    const calls: string[] = [];
    const bridges = new LinuxBridges({ run: async (args) => void calls.push(args.join(' ')) });
    await bridges.create({ name: 'virbr3', stp: true, delay: 0, mtu: 9000, mac: '52:54:00:aa:bb:cc', addresses: ['10.9.0.1/24', 'fd00::1/64'] });
    assert.deepEqual(calls, [
      'link add name virbr3 address 52:54:00:aa:bb:cc type bridge forward_delay 0 stp_state 1',
      'link set dev virbr3 mtu 9000',
      'addr add 10.9.0.1/24 dev virbr3',
      'addr add fd00::1/64 dev virbr3',
      'link set dev virbr3 up',
    ]);
  });

  it('deletes a bridge it could not finish, and says what ip said', async () => {
    const calls: string[] = [];
    const bridges = new LinuxBridges({
      run: async (args) => {
        calls.push(args.join(' '));
        if (args[0] === 'addr') throw new Error('Error: any valid prefix is expected rather than "10.9.0.1/99".');
      },
    });
    await assert.rejects(bridges.create({ name: 'fntx', stp: false, delay: 2, addresses: ['10.9.0.1/99'] }), (e: unknown) => {
      assert.ok(e instanceof FerryError);
      assert.equal(e.code, 'NET_START_FAILED');
      assert.match(e.message, /^failed to set up bridge fntx: Error: any valid prefix/);
      return true;
    });
    assert.deepEqual(calls, ['link add name fntx type bridge forward_delay 200 stp_state 0', 'addr add 10.9.0.1/99 dev fntx', 'link del dev fntx']);
  });

  it("a bridge ip cannot create is NET_START_FAILED with libvirt's words", async () => {
    const bridges = new LinuxBridges({
      run: async () => {
        throw new Error('File exists');
      },
    });
    await assert.rejects(
      bridges.create({ name: 'fnty', stp: true, delay: 0, addresses: [] }),
      /^FerryError: error creating bridge interface fnty: File exists$/,
    );
  });
});
