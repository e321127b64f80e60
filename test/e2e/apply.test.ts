// Declarative Apply and upserts through the server, cross-checked with
// ipvsadm; and ipvsctl apply from a YAML file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChangeAction, Protocol, status } from '../../src/client/index.js';
import { sh } from '../kernel/helpers.js';
import { failure, ipvsctl, until, useServer } from './helpers.js';

const ctx = useServer(['--netns', '*']);
const ns = () => ctx.ns.name;
const id = (address: string, port = 80) => ({ address, protocol: Protocol.TCP, port });
const sorted = (s: string) => s.split('\n').filter(Boolean).sort();

const desired = () => [
  {
    service: { id: id('192.0.2.1'), schedName: 'rr' },
    destinations: [
      { address: '198.51.100.1', port: 8080 },
      { address: '198.51.100.2', port: 8080, weight: 2 },
    ],
  },
  { service: { id: id('192.0.2.2'), schedName: 'wlc' }, destinations: [] },
];

/** 2000 services with 5 destinations each: 12000 changes from empty, long enough to watch. */
const big = () =>
  Array.from({ length: 2000 }, (_, i) => ({
    service: { id: id(`198.18.${i >> 8}.${i & 255}`) },
    destinations: Array.from({ length: 5 }, (_, j) => ({ address: `203.0.113.${j + 1}`, port: 8080 })),
  }));

describe('Apply', () => {
  it('creates from empty, then a second Apply of the same state changes nothing', async () => {
    const first = await ctx.client.apply({ namespace: ns(), services: desired() });
    expect(first).toMatchObject({ applied: 4, failed: 0 });
    expect(first.changes.map((c) => c.action)).toEqual([
      ChangeAction.CREATE_SERVICE,
      ChangeAction.CREATE_DESTINATION,
      ChangeAction.CREATE_DESTINATION,
      ChangeAction.CREATE_SERVICE,
    ]);
    expect(sorted(ctx.ns.ipvsadm('-S -n'))).toEqual([
      '-A -t 192.0.2.1:80 -s rr',
      '-A -t 192.0.2.2:80 -s wlc',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1',
      '-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 2',
    ]);
    const again = await ctx.client.apply({ namespace: ns(), services: desired(), prune: true });
    expect(again).toMatchObject({ applied: 0, failed: 0, changes: [] });
  });

  it('applies exactly what changed', async () => {
    await ctx.client.apply({ namespace: ns(), services: desired() });
    const next = desired();
    next[0]!.destinations[1]!.weight = 7;
    const r = await ctx.client.apply({ namespace: ns(), services: next });
    expect(r.changes.map((c) => c.description)).toEqual([
      'updateDestination 198.51.100.2:8080 of tcp 192.0.2.1:80: weight 2 -> 7',
    ]);
    expect(ctx.ns.saved()).toContain('-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 7');
  });

  it('tells how far it has got with ApplyWithProgress, and ends with the result', async () => {
    const events = [];
    for await (const m of ctx.client.applyWithProgress({
      apply: { namespace: ns(), services: big(), failuresOnly: true },
    }))
      events.push(m.event);
    const last = events.pop()!;
    expect(last.case).toBe('result');
    expect(last.value).toMatchObject({ applied: 12000, failed: 0, changes: [] });
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.case === 'progress' && e.value.planned === 12000)).toBe(true);
    const done = events.map((e) => (e.case === 'progress' ? e.value.done : -1));
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(ctx.ns.saved()).toHaveLength(12000);
  });

  it('lists only refused changes with failuresOnly, and still counts all', async () => {
    // The kernel refuses IPv4 destinations in a namespace whose lo has never been up.
    const raw = `r${process.pid}`;
    sh(`ip netns add ${raw}`);
    try {
      const r = await ctx.client.apply({ namespace: raw, services: desired(), failuresOnly: true });
      expect(r).toMatchObject({ applied: 2, failed: 2 });
      expect(r.changes.map((c) => [c.action, c.errno])).toEqual([
        [ChangeAction.CREATE_DESTINATION, 'EINVAL'],
        [ChangeAction.CREATE_DESTINATION, 'EINVAL'],
      ]);
    } finally {
      sh(`ip netns del ${raw}`);
    }
  });

  it('prunes only inside its scope; a dry run changes nothing', async () => {
    await ctx.client.apply({ namespace: ns(), services: desired() });
    ctx.ns.ipvsadm('-A -t 203.0.113.9:22 -s rr');
    const only = [desired()[0]!];
    const dry = await ctx.client.apply({
      namespace: ns(),
      services: only,
      prune: true,
      dryRun: true,
      scope: { prefixes: ['192.0.2.0/24'] },
    });
    expect(dry.changes.map((c) => c.description)).toEqual(['deleteService tcp 192.0.2.2:80']);
    expect(dry.applied).toBe(0);
    expect(ctx.ns.saved()).toContain('-A -t 192.0.2.2:80 -s wlc');
    await ctx.client.apply({ namespace: ns(), services: only, prune: true, scope: { prefixes: ['192.0.2.0/24'] } });
    const left = ctx.ns.saved();
    expect(left).not.toContain('-A -t 192.0.2.2:80 -s wlc');
    expect(left).toContain('-A -t 203.0.113.9:22 -s rr');
  });

  it('drains instead of deleting when asked', async () => {
    await ctx.client.apply({ namespace: ns(), services: desired() });
    const fewer = desired();
    fewer[0]!.destinations.pop();
    const r = await ctx.client.apply({
      namespace: ns(),
      services: fewer,
      prune: true,
      drain: true,
      scope: { addresses: ['192.0.2.1', '192.0.2.2'] },
    });
    expect(r.changes.map((c) => c.action)).toEqual([ChangeAction.DRAIN_DESTINATION]);
    expect(ctx.ns.saved()).toContain('-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 0');
  });

  it('deletes everything when nothing is desired and nothing scoped (as one flush)', async () => {
    await ctx.client.apply({ namespace: ns(), services: desired() });
    const r = await ctx.client.apply({ namespace: ns(), services: [], prune: true });
    expect(r).toMatchObject({ applied: 2, failed: 0 });
    expect(r.changes.map((c) => c.action)).toEqual([ChangeAction.DELETE_SERVICE, ChangeAction.DELETE_SERVICE]);
    expect(ctx.ns.saved()).toEqual([]);
  });

  it('refuses a desired service outside its scope, changing nothing', async () => {
    const e = await failure(
      ctx.client.apply({ namespace: ns(), services: desired(), scope: { addresses: ['192.0.2.1'] } }),
    );
    expect(e).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'services[1].service' });
    expect(ctx.ns.saved()).toEqual([]);
  });

  it('upserts a service and a destination: create, then update, then nothing', async () => {
    const svc = { service: { id: id('192.0.2.5'), schedName: 'rr' }, destinations: [{ address: '198.51.100.9' }] };
    expect((await ctx.client.upsertService({ namespace: ns(), service: svc })).changes).toHaveLength(2);
    expect((await ctx.client.upsertService({ namespace: ns(), service: svc })).changes).toHaveLength(0);
    const r = await ctx.client.upsertService({
      namespace: ns(),
      service: { ...svc, service: { ...svc.service, schedName: 'wrr' } },
    });
    expect(r.changes.map((c) => c.action)).toEqual([ChangeAction.UPDATE_SERVICE]);
    expect(
      (
        await ctx.client.upsertDestination({
          namespace: ns(),
          service: id('192.0.2.5'),
          destination: { address: '198.51.100.10' },
        })
      ).created,
    ).toBe(true);
    expect(
      (
        await ctx.client.upsertDestination({
          namespace: ns(),
          service: id('192.0.2.5'),
          destination: { address: '198.51.100.10', weight: 4 },
        })
      ).created,
    ).toBe(false);
    expect(ctx.ns.saved()).toContain('-a -t 192.0.2.5:80 -r 198.51.100.10:80 -m -w 4');
  });
});

describe('ipvsctl apply', () => {
  const run = (args: string[]) => ipvsctl(ctx, args);

  it('prints the plan as a diff on --dry-run, applies it, then has nothing to do', async () => {
    const file = join(mkdtempSync('/var/tmp/ipvsd-apply-'), 'rules.yaml');
    writeFileSync(
      file,
      `services:
  - service: { id: { address: 192.0.2.1, protocol: PROTOCOL_TCP, port: 80 }, schedName: rr }
    destinations:
      - { address: 198.51.100.1, port: 8080 }
`,
    );
    const dry = await run(['apply', '-f', file, '--dry-run']);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.out).toBe(
      '+ createService tcp 192.0.2.1:80\n+ createDestination 198.51.100.1:8080 of tcp 192.0.2.1:80\n2 changes planned\n',
    );
    expect(ctx.ns.saved()).toEqual([]);
    const real = await run(['apply', '-f', file]);
    expect(real.code).toBe(0);
    expect(real.err).toMatch(/^(applying: \d of 2 changes done\n)*applying: 2 changes in \d+\.\ds\n$/);
    expect(real.out).toContain('2 applied, 0 failed');
    expect(sorted(ctx.ns.ipvsadm('-S -n'))).toEqual([
      '-A -t 192.0.2.1:80 -s rr',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1',
    ]);
    expect((await run(['apply', '-f', file])).out).toBe('nothing to change\n');
  });

  it('drains and then deletes an idle destination with --drain-timeout', async () => {
    const dir = mkdtempSync('/var/tmp/ipvsd-apply-');
    const write = (n: number) => {
      const file = join(dir, `rules${n}.yaml`);
      writeFileSync(
        file,
        `services:
  - service: { id: { address: 192.0.2.1, protocol: PROTOCOL_TCP, port: 80 } }
    destinations:
${Array.from({ length: n }, (_, j) => `      - { address: 198.51.100.${j + 1}, port: 8080 }`).join('\n')}
`,
      );
      return file;
    };
    expect((await run(['apply', '-f', write(2)])).code).toBe(0);
    const r = await run(['apply', '-f', write(1), '--prune', '--drain', '--drain-timeout', '60']);
    expect(r.out).toContain('drainDestination 198.51.100.2:8080 of tcp 192.0.2.1:80: weight 1 -> 0');
    // No connections: deleted at the server's next check, well before the minute is up.
    await until(() => ctx.ns.saved().length <= 2, 5000);
    expect(sorted(ctx.ns.saved().join('\n'))).toEqual([
      '-A -t 192.0.2.1:80 -s wlc',
      '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1',
    ]);
    expect((await run(['apply', '-f', write(1), '--drain-timeout', 'soon'])).err).toMatch(
      /--drain-timeout: soon is not a whole number of seconds/,
    );
  });

  it('reports progress of a large Apply as plain lines when not on a terminal', async () => {
    const file = join(mkdtempSync('/var/tmp/ipvsd-apply-'), 'rules.json');
    writeFileSync(file, JSON.stringify({ services: big() }));
    const r = await run(['apply', '-f', file]);
    expect(r.code).toBe(0);
    const done = [...r.err.matchAll(/^applying: (\d+) of 12000 changes done$/gm)].map((m) => Number(m[1]));
    expect(done.length).toBeGreaterThan(0);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(r.err).toMatch(/applying: 12000 changes in \d+\.\ds\n$/);
    expect(r.out).toContain('12000 applied, 0 failed');
  });
});
