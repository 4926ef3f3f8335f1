import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { Lab } from './lab.js';
import { LAB_BRIDGE, vmAddress } from './plan.js';
import { DEFAULT_LAB_DIR, labUsage } from './usage.js';

const FERRY = fileURLToPath(new URL('../../bin/ferry', import.meta.url));
const DEFAULT_DIR = DEFAULT_LAB_DIR;

/** `ferry` on a host or the switch means this checkout's CLI. */
function resolveCommand(cmd: string[]): string[] {
  return cmd[0] === 'ferry' ? [process.execPath, FERRY, ...cmd.slice(1)] : cmd;
}

function describe(lab: Lab): string {
  const p = lab.plan;
  const lines = [
    `ferry lab '${p.prefix}' in ${p.dir}: ${p.hosts.length} hosts${p.rate ? `, links shaped to ${p.rate}` : ''}`,
    `  switch ${p.switchNs}: management ${p.switchMgmtAddress}/24 (DNS), VM network ${p.switchVmAddress}/24; VMs take ${vmAddress(p, 0)} and up`,
  ];
  for (const h of p.hosts) {
    lines.push(
      `  ${h.name} (${h.ns}): eth0 ${h.mgmtAddress} (management, ${lab.peerUri(h)}), eth1 ${h.migrationAddress} (migration), ${LAB_BRIDGE} for VMs; ferryd socket ${h.socket}`,
    );
  }
  lines.push(
    '',
    'From this checkout, run commands on a host (its own /run/ferry, /etc/ferry, /etc/pki/ferry, /root/.ssh) or the switch:',
    ...labUsage(p.dir, { firstHost: p.hosts[0]?.name ?? 'h1', ...(p.hosts[1] ? { secondHost: p.hosts[1].name } : {}), vmAddress: vmAddress(p, 0) }).map(
      (l) => `  ${l}`,
    ),
  );
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('lab')
    .description("hosts in network namespaces that look like the seed's: a management and a migration network, a VM bridge br1, a switch, DNS, ssh and TLS")
    .enablePositionalOptions()
    .exitOverride();
  let status = 0;
  program
    .command('up')
    .description('build the lab and start a ferryd (and ferry-lockd, sshd) on every host')
    .option('--hosts <n>', 'how many hosts', '2')
    .option('--dir <dir>', 'state, logs, shared storage and certificates', DEFAULT_DIR)
    .option('--prefix <p>', 'namespace name prefix', 'flab')
    .option('--rate <rate>', 'shape the management and migration links with tc, e.g. 1gbit')
    .option('--no-tls', 'no CA and no TLS listeners: peers reach each other through their sockets')
    .option('--no-ssh', 'no sshd in the hosts')
    .action(async (o: { hosts: string; dir: string; prefix: string; rate?: string; tls: boolean; ssh: boolean }) => {
      const lab = await Lab.up({ hosts: Number(o.hosts), dir: o.dir, prefix: o.prefix, tls: o.tls, ssh: o.ssh, ...(o.rate ? { rate: o.rate } : {}) });
      process.stdout.write(`${describe(lab)}\n`);
    });
  program
    .command('down')
    .description('stop everything the lab runs (VMs too) and remove it')
    .option('--dir <dir>', 'the lab', DEFAULT_DIR)
    .option('--keep-dir', 'keep its directory (logs)')
    .action(async (o: { dir: string; keepDir?: boolean }) => {
      if (!existsSync(`${o.dir}/lab.json`)) return;
      await (await Lab.attach(o.dir)).down({ keepDir: o.keepDir ?? false });
    });
  program
    .command('status')
    .description('what the lab is made of')
    .option('--dir <dir>', 'the lab', DEFAULT_DIR)
    .action(async (o: { dir: string }) => {
      process.stdout.write(`${describe(await Lab.attach(o.dir))}\n`);
    });
  program
    .command('on')
    .description('run a command on a host ("ferry" is this checkout\'s CLI)')
    .argument('<host>', 'h1, h2, ...')
    .argument('<command...>')
    .option('--dir <dir>', 'the lab', DEFAULT_DIR)
    .passThroughOptions()
    .action(async (host: string, cmd: string[], o: { dir: string }) => {
      const lab = await Lab.attach(o.dir);
      const [c, args] = lab.onHostArgv(lab.host(host), ...(resolveCommand(cmd) as [string, ...string[]]));
      status = spawnSync(c, args, { stdio: 'inherit' }).status ?? 1;
    });
  program
    .command('switch')
    .description('run a command on the switch (the far side of the management and VM networks)')
    .argument('<command...>')
    .option('--dir <dir>', 'the lab', DEFAULT_DIR)
    .passThroughOptions()
    .action(async (cmd: string[], o: { dir: string }) => {
      const lab = await Lab.attach(o.dir);
      const full = resolveCommand(cmd);
      status = spawnSync('ip', ['netns', 'exec', lab.plan.switchNs, ...full], { stdio: 'inherit' }).status ?? 1;
    });
  await program.parseAsync(argv);
  return status;
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    if (e.code?.startsWith('commander.')) process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.help' ? 0 : 1);
    process.stderr.write(`lab: ${e.message ?? String(err)}\n`);
    process.exit(1);
  },
);
