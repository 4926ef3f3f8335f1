import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FerrydHost } from '../helpers/ferryd.js';
import { guestXml } from '../helpers/guest.js';
import { lastSeq, waitHeartbeats } from '../helpers/heartbeat.js';
import { eventually, qemuPidsOf } from '../helpers/processes.js';
import { TwoHosts } from '../helpers/two-hosts.js';

/** One QMP command through `ferry qemu-monitor-command`; its return value. */
async function qmp<T>(host: FerrydHost, vm: string, execute: string, args?: Record<string, unknown>): Promise<T> {
  const out = await host.ok('qemu-monitor-command', vm, JSON.stringify(args ? { execute, arguments: args } : { execute }));
  return (JSON.parse(out) as { return: T }).return;
}

function qemuPid(host: FerrydHost, uuid: string): number {
  const [pid] = qemuPidsOf(host.stateDir, uuid);
  assert.ok(pid, 'a QEMU runs for the domain');
  return pid;
}

/** The host CPUs the kernel lets a thread run on. */
function allowed(pid: number, tid: number): string {
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '?';
}

/** What QEMU itself shows of the domain-level settings: argv, environment, CPU phys-bits, iothreads and their pins, RTC, core dump. */
async function checkQemu(host: FerrydHost, name: string, uuid: string): Promise<void> {
  const pid = qemuPid(host, uuid);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  // <qemu:commandline>: the args at the end of QEMU's argv, the env in its environment.
  assert.deepEqual(argv.slice(-3, -1), ['-fw_cfg', 'name=opt/ferry/extras,string=from-qemu-arg']);
  assert.ok(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes('FERRY_EXTRA_ENV=42'), 'QEMU has <qemu:env> in its environment');
  const fwcfg = await qmp<Array<{ name: string }>>(host, name, 'qom-list', { path: '/machine/fw_cfg' });
  assert.ok(fwcfg.length > 0);
  // -acpitable with the SLIC signature.
  assert.ok(
    argv.some((a) => /^sig=SLIC,file=.*slic\.dat$/.test(a)),
    'QEMU got the SLIC table',
  );
  // <maxphysaddr mode='emulate' bits='42'>.
  const [cpu] = await qmp<Array<{ 'qom-path': string }>>(host, name, 'query-cpus-fast');
  assert.equal(await qmp<number>(host, name, 'qom-get', { path: cpu?.['qom-path'], property: 'phys-bits' }), 42);
  // <memory dumpCore='on'>.
  assert.equal(await qmp<boolean>(host, name, 'qom-get', { path: '/machine', property: 'dump-guest-core' }), true);
  // <iothreadids> 3 and 7; <iothreadpin iothread='7' cpuset='0'>.
  const threads = await qmp<Array<{ id: string; 'thread-id': number; 'poll-max-ns': number; 'poll-grow': number; 'poll-shrink': number }>>(
    host,
    name,
    'query-iothreads',
  );
  assert.deepEqual(threads.map((t) => t.id).sort(), ['iothread3', 'iothread7']);
  const seven = threads.find((t) => t.id === 'iothread7');
  assert.equal(allowed(pid, seven?.['thread-id'] as number), '0', 'iothreadpin → host CPU 0');
  // Its <poll> and thread pool, and <defaultiothread>'s pool on QEMU's main loop.
  assert.deepEqual([seven?.['poll-max-ns'], seven?.['poll-grow'], seven?.['poll-shrink']], [32768, 2, 4]);
  assert.equal(await qmp<number>(host, name, 'qom-get', { path: '/objects/iothread7', property: 'thread-pool-max' }), 4);
  assert.equal(await qmp<number>(host, name, 'qom-get', { path: '/objects/iothread7', property: 'thread-pool-min' }), 1);
  assert.equal(await qmp<number>(host, name, 'qom-get', { path: '/objects/main-loop', property: 'thread-pool-max' }), 16);
  // <timer name='tsc' frequency=>: the vCPU's TSC frequency (a migration keeps it).
  assert.equal(await qmp<number>(host, name, 'qom-get', { path: cpu?.['qom-path'], property: 'tsc-frequency' }), 2_500_000_000);
  // <clock offset='variable' adjustment='-86400'>: the guest's RTC runs a day behind the host's.
  const rtc = await qmp<{ tm_year: number; tm_mon: number; tm_mday: number; tm_hour: number; tm_min: number; tm_sec: number }>(host, name, 'qom-get', {
    path: '/machine',
    property: 'rtc-time',
  });
  const guest = Date.UTC(rtc.tm_year + 1900, rtc.tm_mon, rtc.tm_mday, rtc.tm_hour, rtc.tm_min, rtc.tm_sec);
  const behindHours = (Date.now() - guest) / 3_600_000;
  assert.ok(behindHours > 23 && behindHours < 25, `the guest's RTC is a day behind the host's (${behindHours.toFixed(2)} h)`);
}

/**
 * Domain-level settings on real QEMU (issue 11's conformance): <qemu:commandline>
 * args and env, <seclabel type='none'>, <cpu><maxphysaddr>, <memory dumpCore>,
 * <os><acpi><table>, <iothreadids> with <iothreadpin>, <clock offset='variable'>
 * and a file audio backend, on one guest that then migrates live (the destination
 * runs the same extra args); and an i686 guest on qemu-system-i386.
 */
describe('domain-level settings run on real QEMU and migrate', () => {
  const hosts = new TwoHosts();
  before(async () => {
    await hosts.start();
  });
  after(async () => {
    await hosts.stop();
  });

  it('qemu:commandline, maxphysaddr, dumpCore, acpi table, iothreadids (pools, polling) + iothreadpin + defaultiothread, clock variable with a TSC frequency and a WAV audio file, before and after a live migration', async () => {
    const name = 'extras';
    const uuid = 'e7c0a000-0000-4000-8000-000000000011';
    const dir = hosts.dir.path;
    const slic = `${dir}/slic.dat`;
    const body = Buffer.from('FERRYTBLFERRYTBL');
    const header = Buffer.alloc(36);
    header.write('SLIC', 0);
    header.writeUInt32LE(36 + body.length, 4);
    writeFileSync(slic, Buffer.concat([header, body]));
    // A directory QEMU's unprivileged user may create its WAV file in (ferry checks, never opens up directories).
    mkdirSync(`${dir}/audio`);
    chmodSync(`${dir}/audio`, 0o1777);
    const wav = `${dir}/audio/extras.wav`;
    const xml = guestXml({ name, uuid, type: 'qemu', memoryMiB: 128, touchMiB: 8 })
      .replace("<domain type='qemu'>", "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>")
      .replace("<memory unit='MiB'>128</memory>", "<memory unit='MiB' dumpCore='on'>128</memory>")
      .replace(
        /<vcpu>1<\/vcpu>/,
        "<vcpu>1</vcpu><iothreads>2</iothreads><iothreadids><iothread id='3'/><iothread id='7' thread_pool_min='1' thread_pool_max='4'><poll max='32768' grow='2' shrink='4'/></iothread></iothreadids><defaultiothread thread_pool_max='16'/><cputune><iothreadpin iothread='7' cpuset='0'/></cputune>",
      )
      .replace('</cmdline>', `</cmdline><acpi><table type='slic'>${slic}</table></acpi>`)
      .replace(
        '</features>',
        "</features><cpu mode='custom'><model>qemu64</model><maxphysaddr mode='emulate' bits='42'/></cpu><clock offset='variable' adjustment='-86400' basis='utc'><timer name='tsc' frequency='2500000000'/></clock>",
      )
      .replace(
        '</devices>',
        `<sound model='ich9'/><audio id='1' type='file' path='${wav}'><output voices='1'><settings frequency='22050' channels='2' format='s16'/></output></audio></devices>
  <seclabel type='none' model='none'/>
  <qemu:commandline><qemu:arg value='-fw_cfg'/><qemu:arg value='name=opt/ferry/extras,string=from-qemu-arg'/><qemu:env name='FERRY_EXTRA_ENV' value='42'/></qemu:commandline>`,
      );
    const file = `${dir}/${name}.xml`;
    writeFileSync(file, xml);
    const { a, b } = hosts;
    await a.ok('define', file);
    const defined = await a.ok('dumpxml', '--inactive', name);
    for (const kept of [
      "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'",
      "<qemu:arg value='-fw_cfg'/>",
      "<qemu:env name='FERRY_EXTRA_ENV' value='42'/>",
      "<seclabel type='none' model='none'/>",
      "<maxphysaddr mode='emulate' bits='42'/>",
      "dumpCore='on'",
      `<iothread id='7' thread_pool_min='1' thread_pool_max='4'>`,
      "<poll max='32768' grow='2' shrink='4'/>",
      "<defaultiothread thread_pool_max='16'/>",
      "<timer name='tsc' frequency='2500000000'/>",
      "<iothreadpin iothread='7' cpuset='0'/>",
      "<clock offset='variable' adjustment='-86400' basis='utc'",
      `<table type='slic'>${slic}</table>`,
      `<audio id='1' type='file' path='${wav}'>`,
    ]) {
      assert.ok(defined.includes(kept), `dumpxml keeps ${kept}`);
    }
    await a.ok('start', name);
    await waitHeartbeats(() => a.serialLog(name), 2, { timeoutMs: 90_000 });
    await checkQemu(a, name, uuid);
    assert.match(await a.ok('dominfo', name), /Tainted: +custom-argv/);
    assert.match(readFileSync(`${a.stateDir}/log/${name}.log`, 'utf8'), /Domain id=\d+ is tainted: custom-argv/);
    // QEMU's wav backend has opened its file for the sound card's output stream, as QEMU's user (the header comes at close).
    await eventually(async () => existsSync(wav), 'QEMU creates the WAV file');
    assert.equal(statSync(wav).uid, statSync(`/proc/${qemuPid(a, uuid)}`).uid);

    const seq = lastSeq(a.serialLog(name));
    await a.ok('migrate', '--live', '--persistent', name, hosts.bPeer);
    assert.equal(await b.state(name), 'running (migrated)');
    await waitHeartbeats(() => b.serialLog(name), 2, { afterSeq: seq, timeoutMs: 90_000 });
    await checkQemu(b, name, uuid);
    assert.match(await b.ok('dominfo', name), /Tainted: +custom-argv/);
    await b.ok('destroy', name);
  });

  it("<seclabel type='none' model='dac'>: ferry changes no file's owner, so a disk only root can read is refused at start, naming it", async () => {
    const name = 'nolabel';
    const image = `${hosts.dir.path}/root-only.img`;
    writeFileSync(image, Buffer.alloc(1024 * 1024));
    chmodSync(image, 0o600);
    const disk = `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${image}'/><target dev='vda' bus='virtio'/></disk>`;
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(file, guestXml({ name, type: 'qemu', memoryMiB: 64, disks: disk }).replace('</devices>', "</devices><seclabel type='none' model='dac'/>"));
    await hosts.a.ok('define', file);
    const r = await hosts.a.ferry('start', name);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Cannot access storage file of disk vda '.*root-only\.img' \(as uid:\d+, gid:\d+\): Permission denied: the domain's <seclabel type='none' model='dac'> lets ferry change no owner/,
    );
    assert.equal(statSync(image).uid, 0, 'the image still belongs to root');
    await hosts.a.ok('undefine', name);
  });

  it('Hyper-V vendor id, stimer direct, tlbflush direct/extended, emsr_bitmap, xmm_input, KVM paravirt features, SMM TSEG, async teardown and the TCG cache size', async () => {
    const name = 'hv';
    const uuid = 'e7c0a000-0000-4000-8000-0000000000f7';
    const features =
      `<hyperv mode='custom'><vpindex state='on'/><synic state='on'/><stimer state='on'><direct state='on'/></stimer><vendor_id state='on' value='FerryHv'/>` +
      `<tlbflush state='on'><direct state='on'/><extended state='on'/></tlbflush><emsr_bitmap state='on'/><xmm_input state='off'/></hyperv>` +
      `<kvm><hint-dedicated state='off'/><pv-ipi state='off'/><dirty-ring state='on' size='4096'/></kvm>` +
      `<smm state='on'><tseg unit='MiB'>48</tseg></smm><async-teardown enabled='yes'/><tcg><tb-cache unit='KiB'>65536</tb-cache></tcg>`;
    const xml = guestXml({ name, uuid, type: 'qemu', memoryMiB: 64 }).replace('</features>', `${features}</features>`);
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(file, xml);
    await hosts.a.ok('define', file);
    const defined = await hosts.a.ok('dumpxml', name);
    for (const kept of [
      "<tseg unit='MiB'>48</tseg>",
      "<async-teardown enabled='yes'/>",
      "<tb-cache unit='KiB'>65536</tb-cache>",
      "<vendor_id state='on' value='FerryHv'/>",
      "<stimer state='on'>",
      "<extended state='on'/>",
      "<xmm_input state='off'/>",
      "<pv-ipi state='off'/>",
      "<dirty-ring state='on' size='4096'/>",
    ]) {
      assert.ok(defined.includes(kept), `dumpxml keeps ${kept}`);
    }
    await hosts.a.ok('start', name);
    const [cpu] = await qmp<Array<{ 'qom-path': string }>>(hosts.a, name, 'query-cpus-fast');
    const get = (property: string): Promise<unknown> => qmp(hosts.a, name, 'qom-get', { path: cpu?.['qom-path'], property });
    assert.equal(await get('hv-vendor-id'), 'FerryHv');
    for (const p of ['hv-stimer-direct', 'hv-tlbflush-direct', 'hv-tlbflush-ext', 'hv-emsr-bitmap']) assert.equal(await get(p), true, `${p}=on`);
    for (const p of ['hv-xmm-input', 'kvm-pv-ipi', 'kvm-hint-dedicated']) assert.equal(await get(p), false, `${p}=off`);
    // The dirty ring is KVM's: a type='qemu' (TCG) domain runs without it, as QEMU's TCG tracks dirty pages itself.
    const argv = readFileSync(`/proc/${qemuPid(hosts.a, uuid)}/cmdline`, 'utf8').split('\0');
    // <tcg><tb-cache> is TCG's translation cache size; <async-teardown>: QEMU frees the guest's memory in a process of its own.
    assert.equal(argv[argv.indexOf('-accel') + 1], 'tcg,tb-size=64');
    assert.equal(argv[argv.indexOf('-run-with') + 1], 'async-teardown=on');
    // <smm><tseg>: q35's extended TSEG.
    assert.equal(await qmp(hosts.a, name, 'qom-get', { path: '/machine/q35/mch', property: 'extended-tseg-mbytes' }), 48);
    await hosts.a.ok('destroy', name);
    // KVM's paravirt bits are not in a TCG guest's CPU (QEMU drops them): such a domain is refused at start, naming them.
    writeFileSync(file, xml.replace("<pv-ipi state='off'/>", "<poll-control state='on'/>"));
    await hosts.a.ok('define', file);
    const r = await hosts.a.ferry('start', name);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /<poll-control state='on'> needs KVM; this domain runs under TCG/);
    await hosts.a.ok('undefine', name);
  });

  it('an i686 guest starts on qemu-system-i386', async () => {
    const name = 'i686';
    const uuid = 'e7c0a000-0000-4000-8000-000000000686';
    mkdirSync(`${hosts.dir.path}/vnc`);
    chmodSync(`${hosts.dir.path}/vnc`, 0o1777);
    const vnc = `${hosts.dir.path}/vnc/i686=vnc.sock`;
    const xml = guestXml({ name, uuid, type: 'qemu', memoryMiB: 64, bzImage: true, devices: `<graphics type='vnc' socket='${vnc}'/>` }).replace(
      "<type arch='x86_64'",
      "<type arch='i686'",
    );
    const file = `${hosts.dir.path}/${name}.xml`;
    writeFileSync(file, xml);
    await hosts.a.ok('define', file);
    await hosts.a.ok('start', name);
    const pid = qemuPid(hosts.a, uuid);
    assert.equal(readlinkSync(`/proc/${pid}/exe`), '/usr/bin/qemu-system-i386');
    assert.equal((await qmp<{ arch: string }>(hosts.a, name, 'query-target')).arch, 'i386');
    assert.match(await hosts.a.ok('dumpxml', name), /<type arch='i686' machine='pc-q35-[\d.]+'>hvm<\/type>/);
    // <graphics socket=> (a path with '=' in it): QEMU's VNC server answers on the unix socket.
    const greeting = await new Promise<string>((resolve, reject) => {
      const c = createConnection(vnc);
      c.once('data', (d) => {
        resolve(d.toString());
        c.destroy();
      });
      c.once('error', reject);
    });
    assert.match(greeting, /^RFB 003\.008\n/);
    await hosts.a.ok('destroy', name);
    await hosts.a.ok('undefine', name);
  });
});
