import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GraphicsDefinition } from './definition.js';
import { displayUris, vncDisplay } from './display-uri.js';

const vnc: GraphicsDefinition = { type: 'vnc', autoport: true, port: 5901, passwd: 'p@ss', listens: [{ type: 'address', address: '127.0.0.1' }] };
const spice: GraphicsDefinition = { type: 'spice', autoport: true, port: 5902, listens: [{ type: 'address', address: '0.0.0.0' }] };

describe('displayUris()', () => {
  it('names VNC by display number and SPICE by port, as virsh domdisplay', () => {
    assert.deepEqual(displayUris([vnc, spice]), [
      { type: 'vnc', uri: 'vnc://127.0.0.1:1' },
      { type: 'spice', uri: 'spice://localhost:5902' },
    ]);
  });
  it('puts the password in the URI only when asked', () => {
    assert.equal(displayUris([vnc], { password: true })[0]?.uri, 'vnc://:p%40ss@127.0.0.1:1');
  });
  it('gives sockets as +unix URIs and skips listen none', () => {
    assert.deepEqual(
      displayUris([
        { type: 'vnc', autoport: false, listens: [{ type: 'socket', socket: '/run/x/vnc.sock' }] },
        { type: 'spice', autoport: false, listens: [{ type: 'none' }] },
      ]),
      [{ type: 'vnc', uri: 'vnc+unix:///run/x/vnc.sock' }],
    );
  });
});

describe('vncDisplay()', () => {
  it('prints ADDRESS:DISPLAY, or :DISPLAY for a wildcard', () => {
    assert.equal(vncDisplay([vnc]), '127.0.0.1:1');
    assert.equal(vncDisplay([{ ...vnc, listens: [{ type: 'address', address: '0.0.0.0' }] }]), ':1');
    assert.equal(vncDisplay([spice]), undefined);
  });
});
