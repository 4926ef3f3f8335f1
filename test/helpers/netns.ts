import { execFileSync } from 'node:child_process';

const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

/**
 * A second network stack on this machine: a namespace joined to the root one
 * by a veth pair (root side `rootAddr`, namespace side `nsAddr`, a /24).
 */
export class NetnsPeer {
  constructor(
    readonly name: string,
    readonly rootAddr: string,
    readonly nsAddr: string,
  ) {}

  get rootIf(): string {
    return `${this.name.slice(0, 10)}-r`;
  }

  get nsIf(): string {
    return `${this.name.slice(0, 10)}-n`;
  }

  create(): this {
    this.destroy();
    ip('netns', 'add', this.name);
    ip('link', 'add', this.rootIf, 'type', 'veth', 'peer', 'name', this.nsIf);
    ip('link', 'set', this.nsIf, 'netns', this.name);
    ip('addr', 'add', `${this.rootAddr}/24`, 'dev', this.rootIf);
    ip('link', 'set', this.rootIf, 'up');
    this.exec('ip', 'addr', 'add', `${this.nsAddr}/24`, 'dev', this.nsIf);
    this.exec('ip', 'link', 'set', this.nsIf, 'up');
    this.exec('ip', 'link', 'set', 'lo', 'up');
    return this;
  }

  /** Runs a command inside the namespace. */
  exec(...cmd: string[]): string {
    return execFileSync('ip', ['netns', 'exec', this.name, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  destroy(): void {
    try {
      ip('link', 'del', this.rootIf);
    } catch {
      // absent
    }
    try {
      ip('netns', 'del', this.name);
    } catch {
      // absent
    }
  }
}

/** A bridge with no ports (enough for a tap to join), in the root namespace or a peer's. */
export function createBridge(name: string, ns?: NetnsPeer): void {
  const run = (...a: string[]): string => (ns ? ns.exec('ip', ...a) : execFileSync('ip', a, { encoding: 'utf8' }));
  try {
    run('link', 'del', name);
  } catch {
    // absent
  }
  run('link', 'add', name, 'type', 'bridge');
  run('link', 'set', name, 'up');
}

export function deleteLink(name: string, ns?: NetnsPeer): void {
  try {
    if (ns) ns.exec('ip', 'link', 'del', name);
    else execFileSync('ip', ['link', 'del', name], { stdio: 'pipe' });
  } catch {
    // absent
  }
}
