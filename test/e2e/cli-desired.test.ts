// ipvsctl desired through the real server and kernel: put takes an apply
// file with a name and makes it real (or only plans it), generations guard
// against blind overwrites, get and list show how each state's reconcile
// went, delete leaves or removes the rules, and refusals exit 1 with the
// server's reason. ipvsadm is the witness of the kernel.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ipvsctl, useServer } from './helpers.js';

// A small --max-response-bytes, so that list has pages to follow.
const ctx = useServer(['--max-response-bytes', '16384']);
const run = (args: string[], input?: string) => ipvsctl(ctx, args, input);
const sorted = (lines: string[]) => [...lines].sort();
const dir = mkdtempSync('/var/tmp/ipvsd-cli-desired-');

/** A put file: web's service on 192.0.2.1:80, owning 192.0.2.0/24, with `weight` on its first destination. */
const webFile = (o: { name?: string; weight?: number; file?: string } = {}) => {
  const file = join(dir, o.file ?? 'web.yaml');
  writeFileSync(
    file,
    `${o.name === undefined ? '' : `name: ${o.name}\n`}scope: { prefixes: [192.0.2.0/24] }
prune: true
services:
  - service: { id: { address: 192.0.2.1, protocol: PROTOCOL_TCP, port: 80 }, schedName: rr }
    destinations:
      - { address: 198.51.100.1, port: 8080, weight: ${o.weight ?? 1} }
      - { address: 198.51.100.2, port: 8080 }
`,
  );
  return file;
};

const WEB_RULES = [
  '-A -t 192.0.2.1:80 -s rr',
  '-a -t 192.0.2.1:80 -r 198.51.100.1:8080 -m -w 1',
  '-a -t 192.0.2.1:80 -r 198.51.100.2:8080 -m -w 1',
];
const WEB_PLAN = [
  '+ createService tcp 192.0.2.1:80',
  '+ createDestination 198.51.100.1:8080 of tcp 192.0.2.1:80',
  '+ createDestination 198.51.100.2:8080 of tcp 192.0.2.1:80',
];

afterEach(async () => {
  // Every test starts with no desired state (and useServer flushes the kernel).
  // Deleting as it goes: each listing from the start holds what is left.
  for (let left = await ctx.client.listDesiredStates({}); left.desiredStates.length; ) {
    for (const s of left.desiredStates) await ctx.client.deleteDesiredState({ name: s.name });
    left = await ctx.client.listDesiredStates({});
  }
});

describe('ipvsctl desired put', () => {
  it('stores the file as a desired state and makes it real: its generation, the changes, in sync', async () => {
    const r = await run(['desired', 'put', '-f', webFile({ name: 'web' })]);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe(
      ['desiredStates/web: generation 1', ...WEB_PLAN, '3 applied, 0 failed', 'in sync', ''].join('\n'),
    );
    expect(sorted(ctx.ns.saved())).toEqual(WEB_RULES);
  });

  it('--dry-run prints the plan as apply --dry-run does, and stores and changes nothing', async () => {
    const r = await run(['desired', 'put', '-f', webFile({ name: 'web' }), '--dry-run']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toBe(
      [
        'desiredStates/web: would be generation 1 (dry run: nothing stored or changed)',
        ...WEB_PLAN,
        '3 changes planned',
        '',
      ].join('\n'),
    );
    expect(ctx.ns.saved()).toEqual([]);
    expect((await ctx.client.listDesiredStates({})).desiredStates).toEqual([]);
  });

  it('--name names the state over the file, as an id or a full name', async () => {
    expect((await run(['desired', 'put', '-f', webFile({ name: 'other' }), '--name', 'web'])).code).toBe(0);
    const again = await run(['desired', 'put', '-f', webFile(), '--name', 'desiredStates/web']);
    expect(again.out).toBe('desiredStates/web: generation 2\nnothing to change\nin sync\n');
    const names = (await ctx.client.listDesiredStates({})).desiredStates.map((s) => s.name);
    expect(names).toEqual(['desiredStates/web']);
  });

  it('replaces with the right --expected-generation; a stale one exits 1 with ABORTED and changes nothing', async () => {
    await run(['desired', 'put', '-f', webFile({ name: 'web' })]);
    const second = await run([
      'desired',
      'put',
      '-f',
      webFile({ name: 'web', weight: 5 }),
      '--expected-generation',
      '1',
    ]);
    expect(second.code).toBe(0);
    expect(second.out).toBe(
      [
        'desiredStates/web: generation 2',
        '~ updateDestination 198.51.100.1:8080 of tcp 192.0.2.1:80: weight 1 -> 5',
        '1 applied, 0 failed',
        'in sync',
        '',
      ].join('\n'),
    );
    const before = sorted(ctx.ns.saved());
    const stale = await run([
      'desired',
      'put',
      '-f',
      webFile({ name: 'web', weight: 9 }),
      '--expected-generation',
      '1',
    ]);
    expect(stale.code).toBe(1);
    expect(stale.out).toBe('');
    expect(stale.err).toMatch(/^ipvsctl: .*generation 2.* \(ABORTED, field expected_generation\)\n$/);
    expect(sorted(ctx.ns.saved())).toEqual(before);
    // -1: only if it does not exist yet.
    expect(
      (await run(['desired', 'put', '-f', webFile({ name: 'web' }), '--expected-generation', '-1'])).err,
    ).toContain('ABORTED');
    expect((await run(['desired', 'put', '-f', webFile({ name: 'web' }), '--expected-generation', 'two'])).err).toBe(
      'ipvsctl: --expected-generation: two is not a whole number\n',
    );
  });

  it('refuses a scope that overlaps another desired state of the namespace, naming it', async () => {
    await run(['desired', 'put', '-f', webFile({ name: 'web' })]);
    const file = join(dir, 'db.yaml');
    writeFileSync(
      file,
      'name: db\nscope: { addresses: [192.0.2.9] }\nservices:\n  - service: { id: { address: 192.0.2.9, protocol: PROTOCOL_TCP, port: 5432 } }\n',
    );
    const r = await run(['desired', 'put', '-f', file]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('desiredStates/web');
    expect(r.err).toContain('FAILED_PRECONDITION');
    expect(sorted(ctx.ns.saved())).toEqual(WEB_RULES);
  });

  it('a bad file, a missing one, or one without a name is refused with an error naming the file', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: web\nservices:\n  - service: { id: { address: 192.0.2.1, port: eighty } }\n');
    const r = await run(['desired', 'put', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^ipvsctl: ${bad}: .*ServiceId\\.port.*"eighty"\\n$`));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: [web\n');
    expect((await run(['desired', 'put', '-f', broken])).err).toContain(`ipvsctl: ${broken}: `);
    const missing = join(dir, 'missing.yaml');
    expect((await run(['desired', 'put', '-f', missing])).err).toBe(`ipvsctl: ${missing}: cannot read it (ENOENT)\n`);
    const nameless = webFile({ file: 'nameless.yaml' });
    expect((await run(['desired', 'put', '-f', nameless])).err).toBe(
      `ipvsctl: ${nameless}: no name: give the file a name field, or --name\n`,
    );
    expect(ctx.ns.saved()).toEqual([]);
    expect((await ctx.client.listDesiredStates({})).desiredStates).toEqual([]);
  });
});

describe('ipvsctl desired get and list', () => {
  it('get shows the state with its generation, status and services, as YAML or as protobuf JSON', async () => {
    await run(['desired', 'put', '-f', webFile({ name: 'web' })]);
    await run(['desired', 'put', '-f', webFile({ name: 'web', weight: 3 })]);
    const r = await run(['desired', 'get', 'web']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('name: desiredStates/web\n');
    expect(r.out).toContain(`namespace: ${ctx.ns.name}\n`);
    expect(r.out).toContain('generation: 2\n');
    expect(r.out).toContain('scope: { prefixes: [ 192.0.2.0/24 ] }\n');
    expect(r.out).toContain('  inSync: true  # in sync\n');
    expect(r.out).toContain('  reconciledGeneration: 2\n');
    expect(r.out).toMatch(/ {2}reconcileTime: \d{4}-\d\d-\d\dT[\d:.]+Z\n/);
    expect(r.out).toContain('services:\n  - service: { id: { ');
    expect(r.out).toContain('      - { address: 198.51.100.1, port: 8080, weight: 3 }\n');
    const json = JSON.parse((await run(['desired', 'get', 'desiredStates/web', '--json'])).out);
    expect(json).toMatchObject({
      name: 'desiredStates/web',
      namespace: ctx.ns.name,
      generation: '2',
      scope: { prefixes: ['192.0.2.0/24'] },
      prune: true,
      status: { inSync: true, reconciledGeneration: '2' },
    });
    expect(json.services[0].destinations).toHaveLength(2);
    const none = await run(['desired', 'get', 'nothing']);
    expect(none.code).toBe(1);
    expect(none.err).toContain('NOT_FOUND');
  });

  it('list shows one line per state, over every page: name, namespace, generation, scope, in sync, result', async () => {
    await run(['desired', 'put', '-f', webFile({ name: 'web' })]);
    // 40 more with big scopes: more than one page at --max-response-bytes 16384.
    for (let i = 0; i < 40; i++) {
      const addresses = Array.from({ length: 40 }, (_, j) => `10.${i}.0.${j + 1}`);
      await ctx.client.putDesiredState({
        desiredState: {
          name: `desiredStates/s${String(i).padStart(2, '0')}`,
          namespace: ctx.ns.name,
          scope: { addresses },
        },
      });
    }
    expect((await ctx.client.listDesiredStates({})).nextPageToken).not.toBe('');
    const r = await run(['desired', 'list']);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +NAMESPACE +GENERATION +SCOPE +IN SYNC +RECONCILED +RESULT$/);
    expect(lines).toHaveLength(42);
    expect(lines[1]).toMatch(
      /^desiredStates\/s00 .* 1 +10\.0\.0\.1,10\.0\.0\.2,10\.0\.0\.3 and 37 more +yes .* 0 applied, 0 failed$/,
    );
    const web = lines.find((l) => l.startsWith('desiredStates/web'))!;
    expect(web.split(/ {2,}/)).toEqual([
      'desiredStates/web',
      ctx.ns.name,
      '1',
      '192.0.2.0/24',
      'yes',
      expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
      // The last reconcile's: the put's, or a periodic one's since (nothing to change).
      expect.stringMatching(/^[03] applied, 0 failed$/),
    ]);
    const json = JSON.parse((await run(['desired', 'list', '--json'])).out);
    expect(json).toHaveLength(41);
    expect(json.at(-1)).toMatchObject({ name: 'desiredStates/web', generation: '1', status: { inSync: true } });
  });

  it('list says so when there are none', async () => {
    expect((await run(['desired', 'list'])).out).toBe('no desired states\n');
    expect(JSON.parse((await run(['desired', 'list', '--json'])).out)).toEqual([]);
  });
});

describe('ipvsctl desired delete', () => {
  it('leaves the rules by default', async () => {
    await run(['desired', 'put', '-f', webFile({ name: 'web' })]);
    const r = await run(['desired', 'delete', 'web']);
    expect(r).toMatchObject({ code: 0, out: 'deleted desiredStates/web; its rules are left as they are\n' });
    expect(sorted(ctx.ns.saved())).toEqual(WEB_RULES);
    expect((await run(['desired', 'delete', 'web'])).err).toContain('NOT_FOUND');
  });

  it('--remove-rules removes what the state owned and prints it; a stale --expected-generation changes nothing', async () => {
    await run(['desired', 'put', '-f', webFile({ name: 'web' })]);
    ctx.ns.ipvsadm('-A -t 203.0.113.50:80 -s rr'); // outside its scope
    const stale = await run(['desired', 'delete', 'web', '--remove-rules', '--expected-generation', '7']);
    expect(stale.code).toBe(1);
    expect(stale.err).toContain('ABORTED');
    expect(ctx.ns.saved()).toHaveLength(4);
    const r = await run(['desired', 'delete', 'web', '--remove-rules', '--expected-generation', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^deleted desiredStates\/web\n(- .*\n)*\d+ applied, 0 failed\n$/);
    expect(r.out).toContain('- deleteService tcp 192.0.2.1:80');
    expect(ctx.ns.saved()).toEqual(['-A -t 203.0.113.50:80 -s rr']);
    expect((await ctx.client.listDesiredStates({})).desiredStates).toEqual([]);
  });
});
