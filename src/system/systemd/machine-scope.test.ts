import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { BusCallError, type BusCall } from './busctl.js';
import { listenFds, runsAsSystemdService } from './host-systemd.js';
import { MachineScopes, scopeUnitOf } from './machine-scope.js';
import { escapeUnitName, machineName, machineOfScope, machineScopeName } from './unit-names.js';

const log = pino({ level: 'silent' });
const UUID = '3f2a1b4c-0000-4000-8000-00000000abcd';

/** A bus that answers from `answers` (method -> error text or reply) and records each call's busctl arguments. */
function fakeBus(answers: Record<string, string | Error>, calls: Array<{ method: string; signature: string; args: string[] }>): BusCall {
  return async (_svc, _path, _iface, method, signature, args) => {
    calls.push({ method, signature, args: args.map(String) });
    const a = answers[method];
    if (a instanceof Error) throw a;
    return a ?? '';
  };
}

test("machine and scope names as libvirt's: qemu-ID-NAME, machine-qemu\\x2dID\\x2dNAME.scope", () => {
  assert.equal(machineName(4242, 'web-1'), 'qemu-4242-web-1');
  assert.equal(machineName(7, 'ünï cödé/x'), 'qemu-7-ncdx');
  assert.equal(machineName(1, 'a'.repeat(80)).length, 64);
  assert.equal(machineScopeName('qemu-4242-web-1'), 'machine-qemu\\x2d4242\\x2dweb\\x2d1.scope');
  assert.equal(machineOfScope('machine-qemu\\x2d4242\\x2dweb\\x2d1.scope'), 'qemu-4242-web-1');
  assert.equal(escapeUnitName('.a/b c'), '\\x2ea-b\\x20c');
});

test('the scope is found in /proc/PID/cgroup, v1 and v2, also from a child cgroup (ferry/emulator)', () => {
  const v2 = '0::/machine.slice/machine-qemu\\x2d9\\x2dweb.scope/ferry/emulator\n';
  const v1 = '12:cpu,cpuacct:/machine.slice/machine-qemu\\x2d9\\x2dweb.scope/ferry/emulator\n1:name=systemd:/machine.slice/machine-qemu\\x2d9\\x2dweb.scope\n';
  for (const text of [v1, v2]) assert.equal(scopeUnitOf(text), 'machine-qemu\\x2d9\\x2dweb.scope');
  assert.equal(scopeUnitOf('0::/system.slice/ferryd.service\n'), undefined);
  assert.equal(scopeUnitOf('0::/user.slice/x.scope\n'), undefined);
});

test('machined registers the VM (CreateMachineWithNetwork: class vm, service ferry, the QEMU pid, machine.slice, Delegate)', async () => {
  const calls: Array<{ method: string; signature: string; args: string[] }> = [];
  const m = new MachineScopes({
    log,
    booted: () => true,
    privileged: () => true,
    call: fakeBus({}, calls),
    procCgroup: () => '0::/machine.slice/machine-qemu\\x2d42\\x2dweb.scope\n',
  });
  const scope = await m.register({ pid: 42, name: 'web', uuid: UUID });
  assert.deepEqual(scope, { unit: 'machine-qemu\\x2d42\\x2dweb.scope', machine: 'qemu-42-web' });
  const c = calls[0];
  assert.equal(c?.method, 'CreateMachineWithNetwork');
  assert.equal(c?.signature, 'sayssusaia(sv)');
  assert.deepEqual(c?.args.slice(0, 19), ['qemu-42-web', '16', ...[...Buffer.from(UUID.replace(/-/g, ''), 'hex')].map(String), 'ferry']);
  assert.deepEqual(c?.args.slice(19), [
    'vm',
    '42',
    '',
    '0',
    '4',
    'Slice',
    's',
    'machine.slice',
    'After',
    'as',
    '1',
    'ferryd.service',
    'Before',
    'as',
    '1',
    'ferry-guest-shutdown.target',
    'Delegate',
    'b',
    'true',
  ]);
  await m.attach(scope!, [50, 51]);
  assert.deepEqual(calls[1], { method: 'AttachProcessesToUnit', signature: 'ssau', args: ['machine-qemu\\x2d42\\x2dweb.scope', '/', '2', '50', '51'] });
  await m.terminate(scope!);
  assert.deepEqual(calls[2], { method: 'TerminateMachine', signature: 's', args: ['qemu-42-web'] });
});

test('an old machined: CreateMachine; no machined: a transient scope from systemd with the pid', async () => {
  const calls: Array<{ method: string; signature: string; args: string[] }> = [];
  const inScope = (): string => '1:name=systemd:/machine.slice/machine-qemu\\x2d42\\x2dweb.scope\n';
  const old = new MachineScopes({
    log,
    booted: () => true,
    privileged: () => true,
    procCgroup: inScope,
    call: fakeBus(
      {
        CreateMachineWithNetwork: new BusCallError(
          'CreateMachineWithNetwork',
          'Unknown method CreateMachineWithNetwork or interface org.freedesktop.machine1.Manager.',
        ),
      },
      calls,
    ),
  });
  assert.equal((await old.register({ pid: 42, name: 'web', uuid: UUID }))?.machine, 'qemu-42-web');
  assert.equal(calls[1]?.method, 'CreateMachine');
  calls.length = 0;
  const gone = new BusCallError('x', 'The name org.freedesktop.machine1 was not provided by any .service files');
  const none = new MachineScopes({
    log,
    booted: () => true,
    privileged: () => true,
    procCgroup: inScope,
    call: fakeBus({ CreateMachineWithNetwork: gone, NoSuchMachine: gone, TerminateMachine: gone }, calls),
  });
  const scope = await none.register({ pid: 42, name: 'web', uuid: UUID });
  assert.deepEqual(scope, { unit: 'machine-qemu\\x2d42\\x2dweb.scope' });
  const t = calls.find((c) => c.method === 'StartTransientUnit');
  assert.deepEqual(t?.args.slice(0, 10), [
    'machine-qemu\\x2d42\\x2dweb.scope',
    'fail',
    '6',
    'Description',
    's',
    'ferry virtual machine web',
    'PIDs',
    'au',
    '1',
    '42',
  ]);
  assert.equal(t?.args.at(-1), '0');
  await none.terminate(scope!);
  assert.deepEqual(calls.at(-1), { method: 'StopUnit', signature: 'ss', args: ['machine-qemu\\x2d42\\x2dweb.scope', 'fail'] });
});

test('a scope that never shows the pid fails the registration; no systemd: nothing is called', async () => {
  const calls: Array<{ method: string; signature: string; args: string[] }> = [];
  const stuck = new MachineScopes({
    log,
    booted: () => true,
    privileged: () => true,
    placeTimeoutMs: 50,
    call: fakeBus({}, calls),
    procCgroup: () => '0::/system.slice/ferryd.service\n',
  });
  await assert.rejects(stuck.register({ pid: 42, name: 'web', uuid: UUID }), /did not move pid 42/);
  calls.length = 0;
  const off = new MachineScopes({ log, booted: () => false, call: fakeBus({}, calls) });
  assert.equal(off.enabled, false);
  assert.equal(
    new MachineScopes({ log, booted: () => true, privileged: () => false, call: fakeBus({}, calls) }).enabled,
    false,
    'a session ferryd does not register',
  );
  assert.equal(await off.register({ pid: 42, name: 'web', uuid: UUID }), undefined);
  await off.terminate({ unit: 'x.scope' });
  assert.equal(calls.length, 0);
});

test('LISTEN_FDS for this pid only, and the variables are removed; a service is one with INVOCATION_ID on a systemd host', () => {
  const env: NodeJS.ProcessEnv = { LISTEN_FDS: '2', LISTEN_PID: '77', LISTEN_FDNAMES: 'a:b' };
  assert.deepEqual(listenFds(env, 77), [3, 4]);
  assert.deepEqual(env, {});
  assert.deepEqual(listenFds({ LISTEN_FDS: '1', LISTEN_PID: '78' }, 77), []);
  assert.equal(
    runsAsSystemdService({ INVOCATION_ID: 'abc' }, () => true),
    true,
  );
  assert.equal(
    runsAsSystemdService({ INVOCATION_ID: 'abc' }, () => false),
    false,
  );
  assert.equal(
    runsAsSystemdService({}, () => true),
    false,
  );
});
