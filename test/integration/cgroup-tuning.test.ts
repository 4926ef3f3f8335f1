import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { blockDeviceNumber } from '../../src/host/cgroup-tuning.js';
import { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

const CPU = '/sys/fs/cgroup/cpu';
const BLKIO = '/sys/fs/cgroup/blkio';
const MEM = '/sys/fs/cgroup/memory';
const v1 = existsSync(`${CPU}/cpu.shares`) && existsSync(`${BLKIO}/blkio.throttle.read_bps_device`) && existsSync(`${MEM}/memory.memsw.limit_in_bytes`);

const read = (path: string): string => readFileSync(path, 'utf8').trim();
const lines = (path: string): string[] => read(path).split('\n').filter(Boolean);
/** A thread's scheduling policy: field 41 of /proc/PID/task/TID/stat (3: SCHED_BATCH). */
function policy(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
}

/**
 * <cputune> shares, vCPU/emulator/iothread bandwidth and <vcpusched>, with
 * <blkiotune> throttles on a loop device and <memtune>, on real QEMU under ferryd on this
 * host's cgroup v1 layout: the domain gets ferry/qemu-PID-UUID in the cpu and
 * blkio (and memory) hierarchies, its vCPU threads sit in vcpuN, the limits are in the
 * files, and the cgroup goes with the domain.
 */
describe(
  'cgroup tuning (cputune shares/period/quota, vcpusched, blkiotune, memtune) on real QEMU',
  { skip: v1 ? false : 'needs cgroup v1 cpu, blkio and memory (with swap accounting) hierarchies (this host layout)' },
  () => {
    const hosts = new TwoHosts();
    const dir = hosts.dir;
    let host: FerrydHost;
    const name = 'tuned';
    const uuid = randomUUID();
    let loop = '';

    before(async () => {
      writeFileSync(`${dir.path}/backing.img`, Buffer.alloc(1024 * 1024));
      loop = execFileSync('losetup', ['-f', '--show', `${dir.path}/backing.img`], { encoding: 'utf8' }).trim();
      // BFQ takes per-device weights only on a device it schedules: our own loop device gets it.
      writeFileSync(`/sys/block/${loop.replace('/dev/', '')}/queue/scheduler`, 'bfq');
      await hosts.start();
      host = hosts.a;
    });
    after(async () => {
      await hosts.stop();
      if (loop) execFileSync('losetup', ['-d', loop]);
    });

    it('places QEMU in its own cgroup with the limits written, vCPU threads in vcpuN; dumpxml keeps them; destroy removes it', async () => {
      const file = `${dir.path}/${name}.xml`;
      writeFileSync(
        file,
        guestXml({ name, uuid, type: 'qemu', memoryMiB: 128, vcpus: 2 }).replace(
          '<vcpu>2</vcpu>',
          `<blkiotune>
    <weight>500</weight>
    <device><path>${loop}</path><weight>300</weight><read_bytes_sec>1048576</read_bytes_sec><write_iops_sec>200</write_iops_sec></device>
  </blkiotune>
  <memtune><hard_limit unit='GiB'>4</hard_limit><soft_limit unit='MiB'>3072</soft_limit><swap_hard_limit unit='GiB'>6</swap_hard_limit></memtune>
  <vcpu current='1'>2</vcpu><iothreads>1</iothreads>
  <cputune>
    <shares>2048</shares><period>100000</period><quota>50000</quota>
    <emulator_period>200000</emulator_period><emulator_quota>-1</emulator_quota>
    <iothread_quota>30000</iothread_quota>
    <vcpusched vcpus='1' scheduler='batch'/>
  </cputune>`,
        ),
      );
      await host.ok('define', file);
      const xml = await host.ok('dumpxml', name);
      assert.match(
        xml,
        /<shares>2048<\/shares>\s*<period>100000<\/period>\s*<quota>50000<\/quota>\s*<emulator_period>200000<\/emulator_period>\s*<emulator_quota>-1<\/emulator_quota>\s*<iothread_quota>30000<\/iothread_quota>\s*<vcpusched vcpus='1' scheduler='batch'\/>/,
      );
      assert.match(
        xml,
        new RegExp(
          `<blkiotune>\\s*<weight>500</weight>\\s*<device>\\s*<path>${loop}</path>\\s*<weight>300</weight>\\s*<write_iops_sec>200</write_iops_sec>\\s*<read_bytes_sec>1048576</read_bytes_sec>`,
        ),
      );

      assert.match(
        xml,
        /<\/blkiotune>\s*<memtune>\s*<hard_limit unit='KiB'>4194304<\/hard_limit>\s*<soft_limit unit='KiB'>3145728<\/soft_limit>\s*<swap_hard_limit unit='KiB'>6291456<\/swap_hard_limit>\s*<\/memtune>/,
      );

      await host.ok('start', '--paused', name);
      const [pid] = qemuPidsOf(host.stateDir, uuid);
      assert.ok(pid, 'QEMU runs');
      const cg = `ferry/qemu-${pid}-${uuid}`;
      assert.equal(read(`${CPU}/${cg}/cpu.shares`), '2048');
      // vCPU 1 is hot-plugged: its thread starts in emulator's cgroup and ferry moves it to vcpu1 (and makes it SCHED_BATCH).
      await host.ok('setvcpus', name, '2', '--live');
      const cpus = (
        JSON.parse(await host.ok('qemu-monitor-command', name, '{"execute":"query-cpus-fast"}')) as {
          return: Array<{ 'cpu-index': number; 'thread-id': number }>;
        }
      ).return;
      assert.equal(cpus.length, 2);
      for (const c of cpus) {
        const child = `${CPU}/${cg}/vcpu${c['cpu-index']}`;
        assert.equal(read(`${child}/cpu.cfs_period_us`), '100000');
        assert.equal(read(`${child}/cpu.cfs_quota_us`), '50000');
        assert.deepEqual(lines(`${child}/tasks`).map(Number), [c['thread-id']], `vcpu${c['cpu-index']} holds its vCPU thread alone`);
      }
      assert.equal(read(`${CPU}/${cg}/emulator/cpu.cfs_period_us`), '200000');
      assert.equal(read(`${CPU}/${cg}/emulator/cpu.cfs_quota_us`), '-1');
      assert.ok(lines(`${CPU}/${cg}/emulator/tasks`).map(Number).includes(pid), 'the main thread is in emulator');
      const io = (
        JSON.parse(await host.ok('qemu-monitor-command', name, '{"execute":"query-iothreads"}')) as { return: Array<{ id: string; 'thread-id': number }> }
      ).return;
      assert.deepEqual(lines(`${CPU}/${cg}/iothread1/tasks`).map(Number), [io.find((t) => t.id === 'iothread1')?.['thread-id']]);
      assert.equal(read(`${CPU}/${cg}/iothread1/cpu.cfs_quota_us`), '30000');
      // blkio: the whole process, with the throttles for the loop device.
      const dev = blockDeviceNumber(loop);
      assert.ok(lines(`${BLKIO}/${cg}/cgroup.procs`).map(Number).includes(pid));
      assert.deepEqual(lines(`${BLKIO}/${cg}/blkio.throttle.read_bps_device`), [`${dev} 1048576`]);
      assert.deepEqual(lines(`${BLKIO}/${cg}/blkio.throttle.write_iops_device`), [`${dev} 200`]);
      // The weights: BFQ's files when the kernel has them (as here), else blkio.weight (a start fails when neither exists).
      const bfq = existsSync(`${BLKIO}/${cg}/blkio.bfq.weight`);
      assert.equal(
        read(`${BLKIO}/${cg}/${bfq ? 'blkio.bfq.weight' : 'blkio.weight'}`)
          .split('\n')[0]
          ?.replace(/^default /, ''),
        '500',
      );
      assert.ok(lines(`${BLKIO}/${cg}/${bfq ? 'blkio.bfq.weight_device' : 'blkio.weight_device'}`).includes(`${dev} 300`));
      // memory: the whole process, with <memtune>'s limits in bytes.
      assert.ok(lines(`${MEM}/${cg}/cgroup.procs`).map(Number).includes(pid), "QEMU is in the domain's memory cgroup");
      assert.equal(read(`${MEM}/${cg}/memory.limit_in_bytes`), String(4 * 1024 ** 3));
      assert.equal(read(`${MEM}/${cg}/memory.soft_limit_in_bytes`), String(3 * 1024 ** 3));
      assert.equal(read(`${MEM}/${cg}/memory.memsw.limit_in_bytes`), String(6 * 1024 ** 3));
      assert.equal(await host.ok('memtune', name), 'hard_limit     : 4194304\nsoft_limit     : 3145728\nswap_hard_limit: 6291456\n\n');
      // <vcpusched vcpus='1' scheduler='batch'>: vCPU 1 is SCHED_BATCH (3), vCPU 0 stays SCHED_OTHER (0).
      const tid = (i: number): number => cpus.find((c) => c['cpu-index'] === i)?.['thread-id'] as number;
      assert.equal(policy(pid, tid(1)), 3);
      assert.equal(policy(pid, tid(0)), 0);

      // virsh schedinfo / blkiotune: read live from the cgroup, changed live (the files follow) and in the definition.
      assert.equal(
        await host.ok('schedinfo', name),
        [
          'Scheduler      : posix',
          'cpu_shares     : 2048',
          'vcpu_period    : 100000',
          'vcpu_quota     : 50000',
          'emulator_period: 200000',
          'emulator_quota : -1',
          'global_period  : 100000',
          'global_quota   : -1',
          'iothread_period: 100000',
          'iothread_quota : 30000',
          '',
          '',
        ].join('\n'),
      );
      await host.ok('schedinfo', name, '--live', '--set', 'cpu_shares=512', 'vcpu_quota=20000');
      assert.equal(read(`${CPU}/${cg}/cpu.shares`), '512');
      for (const c of cpus) assert.equal(read(`${CPU}/${cg}/vcpu${c['cpu-index']}/cpu.cfs_quota_us`), '20000');
      assert.match(await host.ok('dumpxml', name), /<shares>512<\/shares>\s*<period>100000<\/period>\s*<quota>20000<\/quota>/);
      const bad = await host.ferry('schedinfo', name, '--set', 'vcpu_period=10');
      assert.match(bad.stderr, /value of 'vcpu_period' is out of range \[1000, 1000000\]/);
      await host.ok('blkiotune', name, '--device-write-bytes-sec', `${loop},4096`, '--device-read-bytes-sec', `${loop},0`);
      assert.deepEqual(lines(`${BLKIO}/${cg}/blkio.throttle.write_bps_device`), [`${dev} 4096`]);
      assert.deepEqual(lines(`${BLKIO}/${cg}/blkio.throttle.read_bps_device`), [], 'a 0 removes the limit');
      assert.equal(
        await host.ok('blkiotune', name),
        [
          'weight         : 500',
          `device_weight  : ${loop},300`,
          'device_read_iops_sec: ',
          `device_write_iops_sec: ${loop},200`,
          'device_read_bytes_sec: ',
          `device_write_bytes_sec: ${loop},4096`,
          '',
          '',
        ].join('\n'),
      );

      // A live migration: B's ferryd applies the (live) limits again from the definition, in its own cgroup; A's goes with A's QEMU.
      await host.ok('migrate', '--live', name, hosts.bPeer);
      const [pidB] = qemuPidsOf(hosts.b.stateDir, uuid);
      assert.ok(pidB, 'QEMU runs on B');
      const cgB = `ferry/qemu-${pidB}-${uuid}`;
      assert.equal(read(`${CPU}/${cgB}/cpu.shares`), '512');
      const cpusB = (
        JSON.parse(await hosts.b.ok('qemu-monitor-command', name, '{"execute":"query-cpus-fast"}')) as {
          return: Array<{ 'cpu-index': number; 'thread-id': number }>;
        }
      ).return;
      assert.equal(cpusB.length, 2);
      for (const c of cpusB) {
        assert.equal(read(`${CPU}/${cgB}/vcpu${c['cpu-index']}/cpu.cfs_quota_us`), '20000');
        assert.deepEqual(lines(`${CPU}/${cgB}/vcpu${c['cpu-index']}/tasks`).map(Number), [c['thread-id']]);
      }
      assert.deepEqual(lines(`${BLKIO}/${cgB}/blkio.throttle.write_bps_device`), [`${dev} 4096`]);
      assert.ok(lines(`${MEM}/${cgB}/cgroup.procs`).map(Number).includes(pidB));
      assert.equal(read(`${MEM}/${cgB}/memory.memsw.limit_in_bytes`), String(6 * 1024 ** 3));
      assert.equal(existsSync(`${CPU}/${cg}`), false, "A's cpu cgroup is gone with A's QEMU");
      assert.equal(existsSync(`${BLKIO}/${cg}`), false, "A's blkio cgroup is gone");
      assert.equal(existsSync(`${MEM}/${cg}`), false, "A's memory cgroup is gone");

      await hosts.b.ok('destroy', name);
      assert.equal(existsSync(`${CPU}/${cgB}`), false, 'the cpu cgroup is gone');
      assert.equal(existsSync(`${BLKIO}/${cgB}`), false, 'the blkio cgroup is gone');
      assert.equal(existsSync(`${MEM}/${cgB}`), false, 'the memory cgroup is gone');
    });

    it("refuses a weight outside libvirt's range at start (CGROUP_VALUE_INVALID), leaving no QEMU and no cgroup", async () => {
      const other = 'weighted';
      const file = `${dir.path}/${other}.xml`;
      const id = randomUUID();
      writeFileSync(
        file,
        guestXml({ name: other, uuid: id, type: 'qemu', memoryMiB: 128 }).replace('<vcpu>1</vcpu>', '<blkiotune><weight>50</weight></blkiotune><vcpu>1</vcpu>'),
      );
      await host.ok('define', file);
      assert.equal(
        await host.ok('memtune', other),
        'hard_limit     : unlimited\nsoft_limit     : unlimited\nswap_hard_limit: unlimited\n\n',
        "no <memtune>: virsh's unlimited",
      );
      const r = await host.ferry('start', '--paused', other);
      if (r.code === 0) await host.ferry('destroy', other);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /blkio weight '50' must be in range \[100, 1000\].*\n.*\[CGROUP_VALUE_INVALID\]/);
      assert.deepEqual(qemuPidsOf(host.stateDir, id), [], 'no QEMU is left');
      const left = execFileSync('find', [`${BLKIO}/ferry`, `${CPU}/ferry`, `${MEM}/ferry`, '-maxdepth', '1', '-name', `*${id}`], { encoding: 'utf8' }).trim();
      assert.equal(left, '', 'no cgroup is left');
    });
  },
);
