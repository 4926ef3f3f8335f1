/**
 * Which group each verb belongs to in `ferry help`, as virsh groups its
 * commands. One table: `ferry help`, `ferry help KEYWORD`, ferry(1) and the
 * test that every registered verb has a group all read it.
 */
export interface VerbGroup {
  title: string;
  /** The word `ferry help KEYWORD` takes (virsh's help keyword). */
  keyword: string;
  verbs: readonly string[];
}

export const VERB_GROUPS: readonly VerbGroup[] = [
  {
    title: 'Domain Management',
    keyword: 'domain',
    verbs: [
      'attach-disk',
      'blkiotune',
      'blockcopy',
      'blockjob',
      'change-media',
      'console',
      'create',
      'define',
      'destroy',
      'detach-disk',
      'disk-edit',
      'domdisplay',
      'domfsfreeze',
      'domfsthaw',
      'domid',
      'domif-setlink',
      'domjobabort',
      'domjobinfo',
      'domname',
      'domuuid',
      'dumpxml',
      'emulatorpin',
      'event',
      'guestinfo',
      'inject-nmi',
      'managedsave',
      'managedsave-remove',
      'memtune',
      'migrate',
      'migrate-check',
      'migrate-getmaxdowntime',
      'migrate-getspeed',
      'migrate-postcopy',
      'migrate-setmaxdowntime',
      'migrate-setspeed',
      'numatune',
      'qemu-agent-command',
      'qemu-monitor-command',
      'reboot',
      'reset',
      'resume',
      'schedinfo',
      'setmem',
      'setvcpus',
      'shutdown',
      'start',
      'suspend',
      'undefine',
      'vcpucount',
      'vcpuinfo',
      'vcpupin',
      'vncdisplay',
    ],
  },
  {
    title: 'Domain Monitoring',
    keyword: 'monitor',
    verbs: [
      'domblklist',
      'domblkstat',
      'domif-getlink',
      'domifaddr',
      'domiflist',
      'domifstat',
      'dominfo',
      'dommemstat',
      'domstate',
      'domstats',
      'domtime',
      'list',
    ],
  },
  {
    title: 'Host and Hypervisor',
    keyword: 'host',
    verbs: ['cpu-baseline', 'hostname', 'hypervisor-cpu-baseline', 'hypervisor-cpu-compare', 'nodeinfo', 'uri', 'version'],
  },
  {
    title: 'Networking',
    keyword: 'network',
    verbs: [
      'net-autostart',
      'net-create',
      'net-define',
      'net-destroy',
      'net-dumpxml',
      'net-info',
      'net-list',
      'net-name',
      'net-start',
      'net-undefine',
      'net-uuid',
    ],
  },
  {
    title: 'Secret',
    keyword: 'secret',
    verbs: ['secret-define', 'secret-dumpxml', 'secret-get-value', 'secret-list', 'secret-set-value', 'secret-undefine'],
  },
  {
    title: 'Storage Pool',
    keyword: 'pool',
    verbs: [
      'pool-autostart',
      'pool-build',
      'pool-define',
      'pool-define-as',
      'pool-destroy',
      'pool-dumpxml',
      'pool-info',
      'pool-list',
      'pool-refresh',
      'pool-start',
      'pool-undefine',
    ],
  },
  {
    title: 'Storage Volume',
    keyword: 'volume',
    verbs: ['vol-create-as', 'vol-delete', 'vol-info', 'vol-list', 'vol-path'],
  },
  {
    title: 'Disk Leases',
    keyword: 'lock',
    verbs: ['lock-clear', 'lock-list'],
  },
  {
    title: 'Audit and History',
    keyword: 'audit',
    verbs: ['audit', 'migrate-history'],
  },
  {
    title: 'Certificates',
    keyword: 'cert',
    verbs: ['cert-ca-create', 'cert-client-create', 'cert-host-create'],
  },
  {
    title: 'Ferry itself',
    keyword: 'ferry',
    verbs: ['help'],
  },
];

/** The group a verb belongs to, if any. */
export function groupOf(verb: string): VerbGroup | undefined {
  return VERB_GROUPS.find((g) => g.verbs.includes(verb));
}

/** The group `ferry help KEYWORD` names. */
export function groupByKeyword(keyword: string): VerbGroup | undefined {
  return VERB_GROUPS.find((g) => g.keyword === keyword);
}
