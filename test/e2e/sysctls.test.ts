// IPVS sysctls through real clients: the TypeScript client and `ipvsctl sysctl` read and set them, cross-checked
// with `sysctl` inside the namespace; a refused setting names its field and writes nothing; a desired state's
// sysctls are set at Put and put back within a --reconcile-period-ms after `sysctl -w` changes them, reported as a
// correction on WatchEvents.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { connectIpvs, ReconcileTrigger, SysctlKind, type WatchEventsResponse } from '../../src/client/index.js';
import { testStateDir } from '../state-dir.js';
import { failure, ipvsctl, startInProcess, until, useServer } from './helpers.js';

const run = promisify(execFile);
const PERIOD_MS = 1000;
/** The tests that run ipvsctl (in this process, helpers.ts) and sysctl processes: generous on a busy user-mode Linux. */
const CLI_MS = 300_000;
const ctx = useServer(['--reconcile-period-ms', String(PERIOD_MS)]);
const ns = () => ctx.ns.name;

/** `sysctl -n` inside the namespace, for one or more (a pair's values apart by a tab). */
const sysctl = (...names: string[]) =>
  ctx.ns
    .exec(`sysctl -n ${names.map((n) => `net.ipv4.vs.${n}`).join(' ')}`)
    .trimEnd()
    .split('\n');
/** What `sysctl -a` prints of net.ipv4.vs, sorted. */
const all = () => ctx.ns.exec('sysctl -a 2>/dev/null | grep "^net\\.ipv4\\.vs\\."').split('\n').filter(Boolean).sort();

/**
 * Polls `sysctl -n` inside the namespace without blocking this process (the server lives in it) until it prints
 * `want`, for at most `ms`; how long it took, or -1.
 */
async function putBack(names: string[], want: string, ms: number): Promise<number> {
  const t = Date.now();
  while (Date.now() - t < ms) {
    const { stdout } = await run('ip', [
      'netns',
      'exec',
      ns(),
      'sysctl',
      '-n',
      ...names.map((n) => `net.ipv4.vs.${n}`),
    ]);
    if (stdout.trimEnd() === want) return Date.now() - t;
    await sleep(50);
  }
  return -1;
}

const DEFAULTS = { conntrack: '0', expire_nodest_conn: '0', expire_quiescent_template: '0', conn_reuse_mode: '1' };
const reset = () =>
  ctx.client.updateSysctls({
    namespace: ns(),
    settings: [...Object.entries(DEFAULTS), ['sync_threshold', '3 50']].map(([name, value]) => ({ name, value })),
  });

afterEach(async () => {
  const { desiredStates } = await ctx.client.listDesiredStates({});
  for (const s of desiredStates) await ctx.client.deleteDesiredState({ name: s.name });
  await reset();
});

describe('IPVS sysctls through the TypeScript client', () => {
  it('lists every one as sysctl shows it, with its kind and range', async () => {
    const { sysctls } = await ctx.client.listSysctls({ namespace: ns() });
    expect(sysctls.map((s) => `net.ipv4.vs.${s.name} = ${s.value}`).sort()).toEqual(all());
    expect(sysctls.find((s) => s.name === 'sync_threshold')).toMatchObject({
      value: '3\t50',
      kind: SysctlKind.PAIR,
      minimum: '0',
      maximum: '2147483647',
      unit: 'packets',
      defaultValue: '3\t50',
      perNamespace: true,
    });
    expect(sysctls.find((s) => s.name === 'drop_entry')).toMatchObject({
      kind: SysctlKind.DEFENSE_MODE,
      range: '0..3',
    });
    const some = await ctx.client.listSysctls({ namespace: ns(), names: ['net.ipv4.vs.conntrack', 'sync_retries'] });
    expect(some.sysctls.map((s) => [s.name, s.value])).toEqual([
      ['conntrack', '0'],
      ['sync_retries', '0'],
    ]);
  });

  it('sets them in order and answers the values read back', async () => {
    const { updates } = await ctx.client.updateSysctls({
      namespace: ns(),
      settings: [
        { name: 'conntrack', value: '1' },
        { name: 'net.ipv4.vs.sync_threshold', value: '4 60' },
        { name: 'conn_reuse_mode', value: '1' },
      ],
    });
    expect(updates.map((u) => [u.name, u.previousValue, u.value, u.changed])).toEqual([
      ['conntrack', '0', '1', true],
      ['sync_threshold', '3\t50', '4\t60', true],
      ['conn_reuse_mode', '1', '1', false],
    ]);
    expect(sysctl('conntrack', 'sync_threshold')).toEqual(['1', '4\t60']);
  });

  it('validate_only checks and tells, writing nothing', async () => {
    const { updates } = await ctx.client.updateSysctls({
      namespace: ns(),
      settings: [{ name: 'expire_nodest_conn', value: '1' }],
      validateOnly: true,
    });
    expect(updates).toMatchObject([{ name: 'expire_nodest_conn', previousValue: '0', value: '1', changed: true }]);
    expect(sysctl('expire_nodest_conn')).toEqual(['0']);
  });

  it('refuses an unknown name or a value out of range, naming the field, and writes nothing', async () => {
    const range = await failure(
      ctx.client.updateSysctls({
        namespace: ns(),
        settings: [
          { name: 'conntrack', value: '1' },
          { name: 'sync_retries', value: '4' },
        ],
      }),
    );
    expect(range).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, field: 'settings[1].value', errno: 'EINVAL' });
    expect(range.details).toContain('net.ipv4.vs.sync_retries');
    const pair = await failure(
      ctx.client.updateSysctls({ namespace: ns(), settings: [{ name: 'sync_threshold', value: '50 3' }] }),
    );
    expect(pair).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, field: 'settings[0].value' });
    const unknown = await failure(
      ctx.client.updateSysctls({ namespace: ns(), settings: [{ name: 'no_such', value: '1' }] }),
    );
    expect(unknown).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, field: 'settings[0].name' });
    const listed = await failure(ctx.client.listSysctls({ namespace: ns(), names: ['conntrack', 'no_such'] }));
    expect(listed).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, field: 'names[1]' });
    expect(sysctl('conntrack', 'sync_retries', 'sync_threshold')).toEqual(['0', '0', '3\t50']);
  });

  it('a namespace the server does not allow is PERMISSION_DENIED', async () => {
    const e = await failure(ctx.client.listSysctls({ namespace: 'not-allowed' }));
    expect(e).toMatchObject({ code: grpcStatus.PERMISSION_DENIED, field: 'namespace' });
  });
});

describe('ipvsctl sysctl', () => {
  it(
    'with no names prints every one as sysctl does; with names, those',
    async () => {
      const r = await ipvsctl(ctx, ['sysctl']);
      expect(r).toMatchObject({ code: 0, err: '' });
      expect(r.out.split('\n').filter(Boolean).sort()).toEqual(all());
      const one = await ipvsctl(ctx, ['sysctl', 'sync_threshold', 'net.ipv4.vs.conntrack']);
      expect(one.out).toBe('net.ipv4.vs.sync_threshold = 3\t50\nnet.ipv4.vs.conntrack = 0\n');
    },
    CLI_MS,
  );

  it(
    'NAME=VALUE sets, and prints the values read back; --dry-run shows the change and writes nothing',
    async () => {
      const dry = await ipvsctl(ctx, ['sysctl', '--dry-run', 'conntrack=1', 'conn_reuse_mode=1']);
      expect(dry).toMatchObject({
        code: 0,
        out: 'net.ipv4.vs.conntrack: 0 -> 1\nnet.ipv4.vs.conn_reuse_mode = 1 (unchanged)\n',
      });
      expect(sysctl('conntrack')).toEqual(['0']);
      const set = await ipvsctl(ctx, ['sysctl', 'conntrack=1', 'sync_threshold=5 55']);
      expect(set).toMatchObject({ code: 0, out: 'net.ipv4.vs.conntrack = 1\nnet.ipv4.vs.sync_threshold = 5\t55\n' });
      expect(sysctl('conntrack', 'sync_threshold')).toEqual(['1', '5\t55']);
    },
    CLI_MS,
  );

  it(
    'a refused value exits 1 naming the sysctl and the field, and writes nothing',
    async () => {
      const r = await ipvsctl(ctx, ['sysctl', 'conntrack=1', 'sync_version=2']);
      expect(r.code).toBe(1);
      expect(r.err).toContain('net.ipv4.vs.sync_version');
      expect(r.err).toContain('INVALID_ARGUMENT, field settings[1].value');
      expect(sysctl('conntrack', 'sync_version')).toEqual(['0', '1']);
    },
    CLI_MS,
  );
});

describe("a desired state's sysctls", () => {
  const kubeProxy = {
    conntrack: '1',
    expire_nodest_conn: '1',
    expire_quiescent_template: '1',
    conn_reuse_mode: '0',
  };
  const put = (name: string, sysctls: Record<string, string>, prefix = '192.0.2.0/24') =>
    ctx.client.putDesiredState({
      desiredState: {
        name,
        namespace: ns(),
        scope: { prefixes: [prefix] },
        sysctls: Object.entries(sysctls).map(([n, value]) => ({ name: n, value })),
      },
    });

  it('are set at Put, and put back within a period after sysctl -w, told as a correction', async () => {
    const r = await put('desiredStates/kp', kubeProxy);
    expect(r.sysctls.map((u) => [u.name, u.previousValue, u.value, u.changed])).toEqual([
      ['conntrack', '0', '1', true],
      ['expire_nodest_conn', '0', '1', true],
      ['expire_quiescent_template', '0', '1', true],
      ['conn_reuse_mode', '1', '0', true],
    ]);
    expect(sysctl(...Object.keys(kubeProxy))).toEqual(Object.values(kubeProxy));
    const got = (await ctx.client.getDesiredState({ name: 'desiredStates/kp' })).desiredState!;
    expect(got.sysctls.map((s) => [s.name, s.value])).toEqual(Object.entries(kubeProxy));

    const ac = new AbortController();
    const messages: WatchEventsResponse[] = [];
    const watching = (async () => {
      try {
        for await (const m of ctx.client.watchEvents({ namespace: ns() }, { signal: ac.signal })) messages.push(m);
      } catch {
        // Ended by the abort.
      }
    })();
    try {
      await until(() => messages.length > 0, 10_000);
      const t0 = Date.now();
      ctx.ns.exec('sysctl -q -w net.ipv4.vs.conntrack=0 net.ipv4.vs.conn_reuse_mode=1');
      const seen = await putBack(['conntrack', 'conn_reuse_mode'], '1\n0', 10 * PERIOD_MS);
      expect(seen).toBeGreaterThanOrEqual(0);
      await until(() => messages.some((m) => m.correction), 10_000);
      const m = messages.find((x) => x.correction)!;
      // When the server put them back (the correction's time), from before sysctl -w started: the next period's
      // reconcile, plus the time `ip netns exec sysctl -w` itself blocked this process (and the server in it).
      const ms = timestampDate(m.time!).getTime() - t0;
      console.log(
        `sysctl drift put back ${ms} ms after sysctl -w began (--reconcile-period-ms ${PERIOD_MS}); seen by polling sysctl after ${Date.now() - t0} ms`,
      );
      expect(ms).toBeLessThanOrEqual(PERIOD_MS + 3000);
      const c = m.correction!;
      expect(c).toMatchObject({ desiredState: 'desiredStates/kp', trigger: ReconcileTrigger.PERIOD });
      expect(c.sysctls.map((u) => [u.name, u.previousValue, u.value])).toEqual([
        ['conntrack', '0', '1'],
        ['conn_reuse_mode', '1', '0'],
      ]);
      const s = (await ctx.client.getDesiredState({ name: 'desiredStates/kp' })).desiredState!.status!;
      expect(s).toMatchObject({ inSync: true, code: 0 });
      expect(s.corrections).toBeGreaterThanOrEqual(1n);
    } finally {
      ac.abort();
      await watching;
    }
  });

  it('are kept on disk and set again at start, before the server listens', async () => {
    const dir = testStateDir();
    const start = () => startInProcess(['--netns', ns(), '--state-dir', dir]);
    const a = await start();
    const c = connectIpvs(a.addresses[0]!);
    await c.putDesiredState({
      desiredState: { name: 'desiredStates/kept', namespace: ns(), sysctls: [{ name: 'sloppy_tcp', value: '1' }] },
    });
    c.close();
    await a.shutdown();
    ctx.ns.exec('sysctl -q -w net.ipv4.vs.sloppy_tcp=0');
    const b = await start();
    // startServer resolves once it listens: the kernel is already as the state says.
    expect(sysctl('sloppy_tcp')).toEqual(['1']);
    const c2 = connectIpvs(b.addresses[0]!);
    const got = (await c2.getDesiredState({ name: 'desiredStates/kept' })).desiredState!;
    expect(got.sysctls.map((x) => [x.name, x.value])).toEqual([['sloppy_tcp', '1']]);
    expect(got.status).toMatchObject({ trigger: ReconcileTrigger.START, inSync: true, code: 0 });
    c2.close();
    await b.shutdown();
    ctx.ns.exec('sysctl -q -w net.ipv4.vs.sloppy_tcp=0');
  });

  it('a value out of range is refused at Put, naming desired_state.sysctls[i], storing and changing nothing', async () => {
    const e = await failure(put('desiredStates/bad', { conntrack: '1', drop_packet: '7' }));
    expect(e).toMatchObject({ code: grpcStatus.INVALID_ARGUMENT, field: 'desired_state.sysctls[1].value' });
    expect((await ctx.client.listDesiredStates({})).desiredStates).toEqual([]);
    expect(sysctl('conntrack', 'drop_packet')).toEqual(['0', '0']);
  });

  it('two desired states of the namespace may not want one sysctl otherwise (FAILED_PRECONDITION)', async () => {
    await put('desiredStates/a', { conntrack: '1' });
    await put('desiredStates/b', { conntrack: '1', sloppy_tcp: '1' }, '198.51.100.0/24');
    const e = await failure(put('desiredStates/c', { conntrack: '0' }, '203.0.113.0/24'));
    expect(e).toMatchObject({ code: grpcStatus.FAILED_PRECONDITION, field: 'desired_state.sysctls[0].value' });
    expect(e.details).toContain('desiredStates/a');
    expect(sysctl('conntrack')).toEqual(['1']);
  });

  it(
    'ipvsctl desired put takes them from the file, and desired get shows them',
    async () => {
      const file = [
        'name: files',
        'scope: { prefixes: [192.0.2.0/24] }',
        'sysctls: { conntrack: 1, sync_threshold: 4 40 }',
      ].join('\n');
      const r = await ipvsctl(ctx, ['desired', 'put', '-f', '-'], file);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('sysctl net.ipv4.vs.conntrack: 0 -> 1\n');
      expect(r.out).toContain('sysctl net.ipv4.vs.sync_threshold: 3\t50 -> 4\t40\n');
      expect(sysctl('conntrack', 'sync_threshold')).toEqual(['1', '4\t40']);
      const got = await ipvsctl(ctx, ['desired', 'get', 'files']);
      expect(got.out).toContain('sysctls: { conntrack: "1", sync_threshold: 4 40 }\n');
    },
    CLI_MS,
  );
});
