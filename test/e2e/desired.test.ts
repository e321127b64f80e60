// Desired states through the server: Put stores and reconciles, generations
// guard against blind overwrites, scopes never overlap, validate_only touches
// nothing, Delete leaves or removes the rules, and a restarted server puts the
// kernel back before it listens; a damaged file stops the start. ipvsadm is
// the witness of the kernel, the state directory of the disk.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  ChangeAction,
  connectIpvs,
  DesiredStateView,
  Protocol,
  status,
  type DesiredStateSchema,
  type ServiceWithDestinationsSchema,
} from '../../src/client/index.js';
import { testStateDir } from '../state-dir.js';
import { failure, startInProcess, useServer } from './helpers.js';

const ctx = useServer();
const ns = () => ctx.ns.name;
const id = (address: string, port = 80) => ({ address, protocol: Protocol.TCP, port });
const sorted = (lines: string[]) => [...lines].sort();

const web = (weight = 1): MessageInitShape<typeof ServiceWithDestinationsSchema>[] => [
  {
    service: { id: id('192.0.2.1'), schedName: 'rr' },
    destinations: [
      { address: '198.51.100.1', port: 8080, weight },
      { address: '198.51.100.2', port: 8080 },
    ],
  },
];

const state = (
  name: string,
  services = web(),
  more: {
    scope?: { addresses?: string[]; prefixes?: string[] };
    drain?: boolean;
    drainTimeout?: { seconds: bigint };
  } = {},
): MessageInitShape<typeof DesiredStateSchema> => ({
  name: `desiredStates/${name}`,
  namespace: ns(),
  services,
  scope: { prefixes: ['192.0.2.0/24'] },
  prune: true,
  ...more,
});

const WEB_RULES = [
  '-A -t 192.0.2.1:80 -s rr',
  '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1',
  '-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 1',
];

/** The state directory's files with their bytes. */
const disk = (dir = ctx.stateDir) =>
  Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
/** The files of the states held (a deleted state's last version stays as ID.prev.json). */
const held = () => readdirSync(ctx.stateDir).filter((f) => !f.endsWith('.prev.json'));

const start = (stateDir: string, more: string[] = []) =>
  startInProcess(['--netns', ns(), '--state-dir', stateDir, ...more]);

afterEach(async () => {
  // Every test starts with no desired state (and useServer flushes the kernel).
  const { desiredStates } = await ctx.client.listDesiredStates({});
  for (const s of desiredStates) await ctx.client.deleteDesiredState({ name: s.name });
});

describe('PutDesiredState and GetDesiredState', () => {
  it('creates the rules; Get shows generation 1, in sync, with its services', async () => {
    const r = await ctx.client.putDesiredState({ desiredState: state('web') });
    expect(r.desiredState).toMatchObject({ name: 'desiredStates/web', generation: 1n, services: [] });
    expect(r.desiredState?.status).toMatchObject({ inSync: true, reconciledGeneration: 1n, applied: 3, failed: 0 });
    expect(r.reconcile?.changes.map((c) => c.action)).toEqual([
      ChangeAction.CREATE_SERVICE,
      ChangeAction.CREATE_DESTINATION,
      ChangeAction.CREATE_DESTINATION,
    ]);
    expect(sorted(ctx.ns.saved())).toEqual(WEB_RULES);
    const got = (await ctx.client.getDesiredState({ name: 'desiredStates/web' })).desiredState!;
    expect(got).toMatchObject({ generation: 1n, namespace: ns(), prune: true });
    expect(got.status).toMatchObject({ inSync: true, reconciledGeneration: 1n, code: 0 });
    expect(got.services).toHaveLength(1);
    expect(got.services[0]!.destinations).toHaveLength(2);
    // BASIC: the same without services, for a state too big for one message.
    const basic = (await ctx.client.getDesiredState({ name: 'desiredStates/web', view: DesiredStateView.BASIC }))
      .desiredState!;
    expect(basic).toMatchObject({ generation: 1n, services: [], status: { inSync: true } });
    expect(held()).toEqual(['web.json']);
  });

  it('replaces with the right expected_generation (generation 2); a stale one is ABORTED and changes nothing', async () => {
    await ctx.client.putDesiredState({ desiredState: state('web') });
    const second = await ctx.client.putDesiredState({ desiredState: state('web', web(5)), expectedGeneration: 1n });
    expect(second.desiredState).toMatchObject({ generation: 2n, status: { inSync: true, reconciledGeneration: 2n } });
    expect(second.reconcile?.changes.map((c) => c.description)).toEqual([
      'updateDestination 198.51.100.1:8080 of tcp 192.0.2.1:80: weight 1 -> 5',
    ]);
    const before = { kernel: sorted(ctx.ns.saved()), files: disk() };
    const e = await failure(ctx.client.putDesiredState({ desiredState: state('web', web(9)), expectedGeneration: 1n }));
    expect(e).toMatchObject({ code: status.ABORTED, field: 'expected_generation' });
    expect(e.details).toContain('generation 2');
    expect({ kernel: sorted(ctx.ns.saved()), files: disk() }).toEqual(before);
    expect((await ctx.client.getDesiredState({ name: 'desiredStates/web' })).desiredState?.generation).toBe(2n);
    // -1: only if it does not exist yet.
    const exists = await failure(ctx.client.putDesiredState({ desiredState: state('web'), expectedGeneration: -1n }));
    expect(exists.code).toBe(status.ABORTED);
  });

  it('refuses a scope that overlaps another desired state of the namespace, naming it', async () => {
    await ctx.client.putDesiredState({ desiredState: state('web') });
    const e = await failure(
      ctx.client.putDesiredState({
        desiredState: state('db', [{ service: { id: id('192.0.2.9', 5432) } }], {
          scope: { addresses: ['192.0.2.9'] },
        }),
      }),
    );
    expect(e).toMatchObject({ code: status.FAILED_PRECONDITION, field: 'desired_state.scope' });
    expect(e.details).toContain('desiredStates/web');
    expect(e.details).toContain('192.0.2.9 and 192.0.2.0/24');
    expect(held()).toEqual(['web.json']);
    // An empty scope owns the whole namespace: it overlaps every other.
    const all = await failure(ctx.client.putDesiredState({ desiredState: state('all', [], { scope: {} }) }));
    expect(all.code).toBe(status.FAILED_PRECONDITION);
    // Disjoint scopes live side by side.
    await ctx.client.putDesiredState({
      desiredState: state('db', [{ service: { id: id('203.0.113.9', 5432) } }], {
        scope: { prefixes: ['203.0.113.0/24'] },
      }),
    });
    expect(ctx.ns.saved()).toContain('-A -t 203.0.113.9:5432 -s wlc');
  });

  it('refuses an invalid spec with the field path under desired_state, storing nothing', async () => {
    const before = disk();
    const e = await failure(
      ctx.client.putDesiredState({
        desiredState: state('web', [...web(), { service: { id: id('198.51.100.7') } }]),
      }),
    );
    expect(e).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'desired_state.services[1].service' });
    const name = await failure(ctx.client.putDesiredState({ desiredState: state('Web_1') }));
    expect(name).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'desired_state.name' });
    expect(disk()).toEqual(before);
    expect(ctx.ns.saved()).toEqual([]);
  });

  it('validate_only plans, and changes nothing on disk or in the kernel', async () => {
    const before = disk();
    const r = await ctx.client.putDesiredState({ desiredState: state('web'), validateOnly: true });
    expect(r.desiredState?.generation).toBe(1n);
    expect(r.reconcile).toMatchObject({ applied: 0, failed: 0 });
    expect(r.reconcile?.changes).toHaveLength(3);
    expect(disk()).toEqual(before);
    expect(ctx.ns.saved()).toEqual([]);
    expect((await failure(ctx.client.getDesiredState({ name: 'desiredStates/web' }))).code).toBe(status.NOT_FOUND);
  });
});

describe('ListDesiredStates', () => {
  it('lists in name order without services unless FULL, a page at a time', async () => {
    await ctx.client.putDesiredState({ desiredState: state('b') });
    await ctx.client.putDesiredState({
      desiredState: state('a', [], { scope: { prefixes: ['203.0.113.0/24'] } }),
    });
    const basic = await ctx.client.listDesiredStates({});
    expect(basic.desiredStates.map((s) => [s.name, s.services.length])).toEqual([
      ['desiredStates/a', 0],
      ['desiredStates/b', 0],
    ]);
    expect(basic.nextPageToken).toBe('');
    const first = await ctx.client.listDesiredStates({ pageSize: 1, view: DesiredStateView.FULL });
    expect(first.desiredStates.map((s) => s.name)).toEqual(['desiredStates/a']);
    const second = await ctx.client.listDesiredStates({
      pageSize: 1,
      view: DesiredStateView.FULL,
      pageToken: first.nextPageToken,
    });
    expect(second.desiredStates.map((s) => [s.name, s.services.length])).toEqual([['desiredStates/b', 1]]);
    expect(second.nextPageToken).toBe('');
    const wrong = await failure(ctx.client.listDesiredStates({ pageSize: 1, pageToken: first.nextPageToken }));
    expect(wrong).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'page_token' });
  });
});

describe('DeleteDesiredState', () => {
  it('leaves the rules by default, and forgets the state durably', async () => {
    await ctx.client.putDesiredState({ desiredState: state('web') });
    await ctx.client.deleteDesiredState({ name: 'desiredStates/web' });
    expect(sorted(ctx.ns.saved())).toEqual(WEB_RULES);
    expect(held()).not.toContain('web.json');
    const e = await failure(ctx.client.deleteDesiredState({ name: 'desiredStates/web' }));
    expect(e.code).toBe(status.NOT_FOUND);
  });

  it('with remove_rules removes what it owned (its scope), and nothing outside it', async () => {
    await ctx.client.putDesiredState({ desiredState: state('web') });
    ctx.ns.ipvsadm('-A -t 192.0.2.50:80 -s rr');
    ctx.ns.ipvsadm('-A -t 203.0.113.50:80 -s rr');
    const stale = await failure(
      ctx.client.deleteDesiredState({ name: 'desiredStates/web', removeRules: true, expectedGeneration: 7n }),
    );
    expect(stale.code).toBe(status.ABORTED);
    const r = await ctx.client.deleteDesiredState({
      name: 'desiredStates/web',
      removeRules: true,
      expectedGeneration: 1n,
    });
    expect(r.removal).toMatchObject({ applied: 2, failed: 0 });
    expect(ctx.ns.saved()).toEqual(['-A -t 203.0.113.50:80 -s rr']);
  });

  it('with remove_rules drains when its spec drains, then deletes when idle', async () => {
    await ctx.client.putDesiredState({
      desiredState: state('web', web(), { drain: true, drainTimeout: { seconds: 30n } }),
    });
    const r = await ctx.client.deleteDesiredState({ name: 'desiredStates/web', removeRules: true });
    expect(r.removal?.changes.map((c) => c.action)).toEqual([
      ChangeAction.DRAIN_DESTINATION,
      ChangeAction.DRAIN_DESTINATION,
    ]);
    expect(sorted(ctx.ns.saved())).toEqual([
      '-A -t 192.0.2.1:80 -s rr',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 0',
      '-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 0',
    ]);
    // No connections: the drained destinations go at the next check, and then their service.
    const t = Date.now();
    while (ctx.ns.saved().length && Date.now() - t < 10_000) await new Promise((r) => setTimeout(r, 200));
    expect(ctx.ns.saved()).toEqual([]);
  });
});

describe('restarts', () => {
  it('a restarted server puts the kernel back after ipvsadm -C before it listens', async () => {
    const dir = testStateDir();
    const a = await start(dir);
    const c = connectIpvs(a.addresses[0]!);
    await c.putDesiredState({ desiredState: state('web') });
    c.close();
    await a.shutdown();
    ctx.ns.ipvsadm('-C');
    expect(ctx.ns.saved()).toEqual([]);
    const b = await start(dir);
    // startServer resolves once it listens: the kernel is already back.
    expect(sorted(ctx.ns.saved())).toEqual(WEB_RULES);
    const c2 = connectIpvs(b.addresses[0]!);
    const got = (await c2.getDesiredState({ name: 'desiredStates/web' })).desiredState!;
    expect(got).toMatchObject({ generation: 1n, status: { inSync: true, applied: 3, reconciledGeneration: 1n } });
    c2.close();
    await b.shutdown();
  });

  it('a running server puts back, within its reconcile period, rules ipvsadm deleted or changed', async () => {
    const s = await start(testStateDir(), ['--reconcile-period-ms', '1000']);
    const c = connectIpvs(s.addresses[0]!);
    await c.putDesiredState({ desiredState: state('web') });
    const back = async () => {
      const t = Date.now();
      while (sorted(ctx.ns.saved()).join() !== WEB_RULES.join() && Date.now() - t < 5000)
        await new Promise((r) => setTimeout(r, 100));
      return sorted(ctx.ns.saved());
    };
    ctx.ns.ipvsadm('-C');
    expect(await back()).toEqual(WEB_RULES);
    ctx.ns.ipvsadm('-e -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 7');
    ctx.ns.ipvsadm('-d -t 192.0.2.1:80 -r 198.51.100.2:8080');
    expect(await back()).toEqual(WEB_RULES);
    // Outside the scope: never touched.
    ctx.ns.ipvsadm('-A -t 203.0.113.9:80 -s rr');
    await new Promise((r) => setTimeout(r, 1500));
    expect(ctx.ns.saved()).toContain('-A -t 203.0.113.9:80 -s rr');
    c.close();
    await s.shutdown();
  });

  it('a truncated state file stops the start with a message naming the file and the recovery', async () => {
    const dir = testStateDir();
    const a = await start(dir);
    const c = connectIpvs(a.addresses[0]!);
    await c.putDesiredState({ desiredState: state('web') });
    await c.putDesiredState({ desiredState: state('web', web(3)) });
    c.close();
    await a.shutdown();
    const file = join(dir, 'web.json');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length >> 1));
    await expect(start(dir)).rejects.toThrow(file);
    // The binary: exit 1, one line naming the file and the one mv that restores the last good generation.
    const r = spawnSync(
      process.execPath,
      ['dist/src/server/main.js', '--sandbox', 'never', '--listen', '127.0.0.1:0', '--unix', '', '--state-dir', dir],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`ipvsd: cannot start: ${file}: is not JSON`);
    expect(r.stderr).toContain(`mv ${join(dir, 'web.prev.json')} ${file}`);
  });
});
