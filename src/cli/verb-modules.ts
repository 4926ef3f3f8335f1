import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Adds a module's verbs to the program. */
export type RegisterVerbs = (program: Command, ctx: CliContext) => void;

export interface VerbModule {
  /** Every verb the module registers (a test checks this against what it really registers). */
  verbs: readonly string[];
  load: () => Promise<RegisterVerbs>;
}

/**
 * Which module registers which verbs, in the order `ferry --help` lists them. The CLI loads only the module of the
 * verb typed (a runbook calls `ferry` hundreds of times: BENCHMARKS.md, CLI start-up); help, completion and an
 * unknown verb load them all.
 */
export const VERB_MODULES: readonly VerbModule[] = [
  { verbs: ['define', 'create', 'undefine', 'dumpxml'], load: async () => (await import('./commands/define.js')).registerDefine },
  {
    verbs: ['destroy', 'reboot', 'reset', 'suspend', 'resume', 'inject-nmi', 'start', 'shutdown'],
    load: async () => (await import('./commands/lifecycle.js')).registerLifecycle,
  },
  { verbs: ['managedsave', 'managedsave-remove'], load: async () => (await import('./commands/managed-save.js')).registerManagedSave },
  { verbs: ['list'], load: async () => (await import('./commands/list.js')).registerList },
  {
    verbs: ['dominfo', 'domstate', 'domid', 'domname', 'domuuid', 'domblklist', 'domiflist'],
    load: async () => (await import('./commands/info.js')).registerInfo,
  },
  {
    verbs: ['setvcpus', 'vcpucount', 'vcpuinfo', 'vcpupin', 'numatune', 'emulatorpin'],
    load: async () => (await import('./commands/vcpus.js')).registerVcpus,
  },
  { verbs: ['schedinfo', 'blkiotune', 'memtune'], load: async () => (await import('./commands/tuning.js')).registerTuning },
  { verbs: ['domif-getlink', 'domif-setlink', 'domifstat'], load: async () => (await import('./commands/domif.js')).registerDomif },
  { verbs: ['nodeinfo', 'version', 'uri', 'hostname'], load: async () => (await import('./commands/node.js')).registerNode },
  {
    verbs: ['hypervisor-cpu-compare', 'hypervisor-cpu-baseline', 'cpu-baseline'],
    load: async () => (await import('./commands/cpu-models.js')).registerCpuModels,
  },
  { verbs: ['disk-edit'], load: async () => (await import('./commands/disk-edit.js')).registerDiskEdit },
  { verbs: ['attach-disk', 'detach-disk', 'change-media'], load: async () => (await import('./commands/disk-hotplug.js')).registerDiskHotplug },
  { verbs: ['event'], load: async () => (await import('./commands/event.js')).registerEvent },
  { verbs: ['qemu-monitor-command'], load: async () => (await import('./commands/monitor-command.js')).registerMonitorCommand },
  { verbs: ['console'], load: async () => (await import('./commands/console.js')).registerConsole },
  {
    verbs: ['qemu-agent-command', 'domifaddr', 'guestinfo', 'domtime', 'domfsfreeze', 'domfsthaw'],
    load: async () => (await import('./commands/agent.js')).registerAgent,
  },
  { verbs: ['migrate'], load: async () => (await import('./commands/migrate.js')).registerMigrate },
  { verbs: ['migrate-check'], load: async () => (await import('./commands/migrate.js')).registerMigrateCheck },
  {
    verbs: ['domjobinfo', 'domjobabort', 'migrate-postcopy', 'migrate-setmaxdowntime', 'migrate-getmaxdowntime', 'migrate-setspeed', 'migrate-getspeed'],
    load: async () => (await import('./commands/job.js')).registerJobControl,
  },
  {
    verbs: [
      'pool-define-as',
      'pool-define',
      'pool-start',
      'pool-destroy',
      'pool-build',
      'pool-refresh',
      'pool-undefine',
      'pool-autostart',
      'pool-list',
      'pool-info',
      'pool-dumpxml',
    ],
    load: async () => (await import('./commands/pool.js')).registerPool,
  },
  { verbs: ['vol-create-as', 'vol-delete', 'vol-list', 'vol-info', 'vol-path'], load: async () => (await import('./commands/vol.js')).registerVol },
  {
    verbs: ['net-define', 'net-create', 'net-start', 'net-destroy', 'net-undefine', 'net-autostart'],
    load: async () => (await import('./commands/net-lifecycle.js')).registerNetLifecycle,
  },
  {
    verbs: ['net-list', 'net-info', 'net-dumpxml', 'net-uuid', 'net-name'],
    load: async () => (await import('./commands/net-query.js')).registerNetQuery,
  },
  { verbs: ['blockcopy', 'blockjob'], load: async () => (await import('./commands/blockcopy.js')).registerBlockCopy },
  { verbs: ['lock-list', 'lock-clear'], load: async () => (await import('./commands/lock.js')).registerLock },
  { verbs: ['cert-ca-create', 'cert-host-create', 'cert-client-create'], load: async () => (await import('./commands/cert.js')).registerCert },
  { verbs: ['domdisplay', 'vncdisplay'], load: async () => (await import('./commands/display.js')).registerDisplay },
  { verbs: ['dommemstat', 'setmem'], load: async () => (await import('./commands/memory.js')).registerMemory },
  { verbs: ['domstats', 'domblkstat'], load: async () => (await import('./commands/stats.js')).registerStats },
  {
    verbs: ['secret-define', 'secret-set-value', 'secret-get-value', 'secret-list', 'secret-dumpxml', 'secret-undefine'],
    load: async () => (await import('./commands/secret.js')).registerSecret,
  },
  { verbs: ['help'], load: async () => (await import('./help/help-command.js')).registerHelp },
  { verbs: ['complete'], load: async () => (await import('./complete/complete-command.js')).registerComplete },
  { verbs: ['audit', 'migrate-history'], load: async () => (await import('./commands/audit.js')).registerAudit },
];

/** Verbs that need every other verb registered: help lists them, completion completes them. */
const NEEDS_ALL = new Set(['help', 'complete']);

/**
 * Which verbs a command line needs registered: the verb typed (after the global options), every verb when there is
 * none, it is unknown (commander then suggests one) or it is help or completion, and none for `--version` alone.
 */
export function verbsNeeded(args: readonly string[]): readonly string[] | 'all' {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-c' || a === '--connect') i++;
    else if (a === '-h' || a === '--help' || a === '--') return 'all';
    else if (a === '-v' || a === '--version') return [];
    else if (!a.startsWith('-')) {
      if (NEEDS_ALL.has(a) || !VERB_MODULES.some((m) => m.verbs.includes(a))) return 'all';
      return [a];
    }
  }
  return 'all';
}
