// Desired states survive what a real host does to the server binary: a SIGKILL
// at any instant of a stream of Puts leaves, after a restart, the last
// acknowledged generation or the one in flight, never a torn file, and the
// kernel put back to it before the server listens; a state file that does not
// load (refused by validation under a correct checksum, or cut short) stops the
// binary with exit 1, its path and the reason, and the one `mv` it prints
// brings back the kept generation; two clients racing on one generation see
// exactly one of them win. The server runs as its own process (node dist/…),
// so that the kill really lands in it; ipvsadm is the witness of the kernel,
// the state directory of the disk.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { create, toJson, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectIpvs,
  DesiredStateSchema,
  IpvsError,
  Protocol,
  status,
  type DesiredState,
} from '../../src/client/index.js';
import { isTemporary } from '../../src/desired/durable-file.js';
import { decodeState, FORMAT, VERSION, type StoredDesiredState } from '../../src/desired/format.js';
import { createNetns, type Netns } from '../kernel/helpers.js';
import { Ipvsd, killAll, refusedStart } from './binary.js';
import { testStateDir } from '../state-dir.js';

const NAME = 'desiredStates/soak';
const FILE = 'soak.json';
const PREV = 'soak.prev.json';
const WEB = { address: '192.0.2.1', protocol: Protocol.TCP, port: 80 };

let ns: Netns;
beforeAll(() => {
  ns = createNetns('k');
});
afterAll(() => {
  ns?.remove();
});

// The servers first: none may program the namespace after it is flushed.
afterEach(async () => {
  await killAll();
  flush();
});

type Spec = MessageInitShape<typeof DesiredStateSchema>;

/** A spec a put index makes visible: the first destination's weight is i + 1, the second is there when i is even. */
const soakSpec = (i: number): Spec => ({
  name: NAME,
  namespace: ns.name,
  services: [
    {
      service: { id: WEB, schedName: 'rr' },
      destinations: [
        { address: '198.51.100.1', port: 8080, weight: i + 1 },
        ...(i % 2 === 0 ? [{ address: '198.51.100.2', port: 8080, weight: 1 }] : []),
      ],
    },
  ],
  scope: { prefixes: ['192.0.2.0/24'] },
  prune: true,
});

/** A state's spec as the server keeps it (protobuf JSON of its spec fields): equal for equal specs, whoever made it. */
function specJson(m: Spec | DesiredState): JsonValue {
  const { namespace, services, scope, prune, drain, drainTimeout } = create(DesiredStateSchema, m as Spec);
  return toJson(
    DesiredStateSchema,
    create(DesiredStateSchema, { namespace, services, scope, prune, drain, drainTimeout }),
  );
}

/** The ipvsadm -S -n lines a spec means (tcp, masquerading: what the specs here use), sorted. */
function rulesOf(s: Spec): string[] {
  const lines: string[] = [];
  for (const { service, destinations = [] } of s.services ?? []) {
    const vip = `${service?.id?.address}:${service?.id?.port}`;
    lines.push(`-A -t ${vip} -s ${service?.schedName}`);
    for (const d of destinations) lines.push(`-a -t ${vip} -r ${d.address}:${d.port} -m -w ${d.weight ?? 1}`);
  }
  return lines.sort();
}
/** The kernel's rules in the namespace, as ipvsadm -S -n lists them, sorted. */
const kernel = () =>
  execFileSync('ip', ['netns', 'exec', ns.name, 'ipvsadm', '-S', '-n'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .sort();
const flush = () => execFileSync('ip', ['netns', 'exec', ns.name, 'ipvsadm', '-C']);

/**
 * The state directory, checked: nothing in it is torn. Every *.json file decodes (JSON, and its sha256 matches)
 * and holds desiredStates/soak; anything else is a temporary file of a write a kill cut short, allowed only when
 * `temporaries` says so (the store removes them at open). Returns the generations of soak.json and soak.prev.json.
 */
function disk(dir: string, temporaries: boolean): { current: StoredDesiredState; prev?: number } {
  const names = readdirSync(dir);
  for (const n of names) {
    if (n === FILE || n === PREV) continue;
    expect(isTemporary(n) && temporaries, `unexpected file ${n} in the state directory`).toBe(true);
  }
  const read = (n: string) => {
    const bytes = readFileSync(join(dir, n));
    JSON.parse(bytes.toString('utf8'));
    return decodeState(bytes, join(dir, n), 'soak');
  };
  expect(names).toContain(FILE);
  return { current: read(FILE), prev: names.includes(PREV) ? read(PREV).generation : undefined };
}

/** A small seeded generator (mulberry32), so that a failing run can be replayed with IPVSD_TEST_SEED. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('SIGKILL during a stream of Puts', () => {
  // 8 in the suite; `npx tsx scripts/soak-durability.ts [kills]` runs a longer soak by hand.
  const KILLS = Number(process.env.IPVSD_SOAK_KILLS ?? 8);
  const PUTS = KILLS * 10;
  /** Puts a kill may trail the one it was armed on by; then the stream waits for it. */
  const AHEAD = 5;

  it(`${PUTS} Puts, ${KILLS} SIGKILLs at random instants: after each restart the state is the last acknowledged generation or the one in flight, no file is torn, and the kernel has its rules`, async () => {
    const seed = Number(process.env.IPVSD_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rand = random(seed);
    const why = (what: string) => `${what} (IPVSD_TEST_SEED=${seed})`;
    // One kill per stretch of PUTS / KILLS Puts, armed on one of its first few Puts (never the first of all).
    const stretch = PUTS / KILLS;
    const armAt = Array.from({ length: KILLS }, (_, k) => k * stretch + 1 + Math.floor(rand() * (stretch - AHEAD - 1)));
    const dir = testStateDir();
    /**
     * The kill of the server, armed as a Put is sent. Half the time it lands 1 to 200 ms later (log-uniform: inside
     * a Put, or between Puts while the stream goes on); half the time the moment the Put's temporary file appears
     * in the state directory, inside the write (or at latest 500 ms later).
     */
    const arm = (target: Ipvsd): Promise<void> => {
      if (rand() < 0.5) return sleep(Math.exp(rand() * Math.log(200))).then(() => target.kill());
      return new Promise<void>((landed) => {
        let fired = false;
        const fire = () => {
          if (fired) return;
          fired = true;
          watcher.close();
          clearTimeout(timer);
          landed(target.kill());
        };
        const watcher = watch(dir, (_, f) => {
          if (f && isTemporary(String(f))) fire();
        });
        const timer = setTimeout(fire, 500);
      });
    };

    let server = await Ipvsd.start(dir, { netns: ns.name });
    /** What the client knows is stored: the last acknowledged Put, or what a restart showed. */
    let known = { generation: 0, spec: undefined as JsonValue | undefined };
    let kill: { armedAt: number; landed: Promise<void> } | undefined;
    let kills = 0;
    let acknowledged = 0;
    let inFlightLanded = 0;
    /** Kills that left temporary files, and kills that fell between keeping soak.prev.json and renaming the new file in. */
    let leftTemporaries = 0;
    let betweenRenames = 0;
    let startMs = 0;
    let putMs = 0;

    /** After a kill: the disk as the kill left it, the restart, and what the restarted server holds and did. */
    const restart = async (inFlight: JsonValue | undefined) => {
      await kill!.landed;
      kill = undefined;
      kills++;
      if (readdirSync(dir).some(isTemporary)) leftTemporaries++;
      const left = disk(dir, true);
      if (left.prev === left.current.generation) betweenRenames++;
      // Half the time the kernel loses its rules too, so that only the disk can bring them back.
      if (kills % 2 === 0) flush();
      const t = Date.now();
      server = await Ipvsd.start(dir, { netns: ns.name });
      startMs += Date.now() - t;
      const got = (await server.client.getDesiredState({ name: NAME })).desiredState!;
      const generation = Number(got.generation);
      const spec = specJson(got);
      if (generation === known.generation) {
        expect(spec, why(`generation ${generation} is the one acknowledged`)).toEqual(known.spec);
      } else {
        expect(inFlight, why(`generation ${generation} after ${known.generation}: only a Put in flight`)).toBeDefined();
        expect(generation, why('one Put in flight at most')).toBe(known.generation + 1);
        expect(spec, why(`generation ${generation} is the Put that was in flight`)).toEqual(inFlight);
        inFlightLanded++;
      }
      // The open removed what the kill left half-written; the file is what Get says; the kept one is the one before
      // it (or the same, when the kill fell between keeping it and renaming the new one in).
      const files = disk(dir, false);
      expect(files.current).toEqual({ name: NAME, generation, spec });
      if (generation > 1) expect([generation - 1, generation]).toContain(files.prev);
      // The server reconciled before it listened: the kernel already has this generation's rules.
      expect(kernel(), why(`the kernel has generation ${generation}'s rules`)).toEqual(rulesOf(got));
      known = { generation, spec };
    };

    for (let i = 0; i < PUTS; i++) {
      // A kill still pending this far behind its Put: the stream waits for it (it then lands between Puts).
      if (kill && i >= kill.armedAt + AHEAD) await restart(undefined);
      if (!kill && i === armAt[kills]) {
        kill = { armedAt: i, landed: arm(server) };
      }
      const desiredState = soakSpec(i);
      const putStart = Date.now();
      try {
        const r = await server.client.putDesiredState({
          desiredState,
          expectedGeneration: known.generation === 0 ? -1n : BigInt(known.generation),
        });
        expect(r.desiredState?.generation, why(`put ${i}`)).toBe(BigInt(known.generation + 1));
        known = { generation: known.generation + 1, spec: specJson(desiredState) };
        acknowledged++;
        putMs += Date.now() - putStart;
      } catch (e) {
        // Only a kill may fail a Put: the connection it cut.
        if (!kill) throw e;
        await kill.landed;
        expect(e, why(`put ${i} failed by the kill`)).toBeInstanceOf(IpvsError);
        expect((e as IpvsError).code, why(`put ${i}: ${(e as Error).message}`)).toBe(status.UNAVAILABLE);
        await restart(specJson(desiredState));
      }
    }
    expect(kill).toBeUndefined();
    expect(kills).toBe(KILLS);

    // The last life: what it acknowledged last is what it holds, on disk and in the kernel; a clean stop.
    const last = (await server.client.getDesiredState({ name: NAME })).desiredState!;
    expect(Number(last.generation)).toBe(known.generation);
    expect(specJson(last)).toEqual(known.spec);
    expect(disk(dir, false).current.generation).toBe(known.generation);
    expect(kernel()).toEqual(rulesOf(last));
    expect(await server.stop()).toBe(0);
    // Every Put that landed counted once: the acknowledged ones, and the ones in flight that landed.
    expect(known.generation).toBe(acknowledged + inFlightLanded);
    expect(acknowledged).toBeGreaterThanOrEqual(PUTS - KILLS);
    console.log(
      `seed ${seed}: ${kills} kills: ${inFlightLanded} Puts in flight landed, ${leftTemporaries} kills left ` +
        `temporary files, ${betweenRenames} fell between the two renames; generation ${known.generation} after ${PUTS} Puts; ` +
        `a restart took ${Math.round(startMs / kills)} ms on average, an acknowledged Put ${Math.round(putMs / acknowledged)} ms`,
    );
    // Restarts are its time: 7.4 s each in a guest beside another, against 0.1 s an acknowledged Put.
  }, 600_000);
});

/** A state file rewritten with `change` applied to its spec, its sha256 recomputed as format.ts says. */
function rewritten(path: string, change: (spec: Record<string, unknown>) => void): void {
  const file = JSON.parse(readFileSync(path, 'utf8')) as {
    name: string;
    generation: number;
    sha256: string;
    spec: Record<string, unknown>;
  };
  change(file.spec);
  file.sha256 = createHash('sha256')
    .update(JSON.stringify([FORMAT, VERSION, file.name, file.generation, file.spec]))
    .digest('hex');
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
}

describe('a state file that does not load', () => {
  type Service = { destinations: { weight: number }[] };
  const damages: [string, (path: string) => void, RegExp, boolean][] = [
    [
      'a destination weight above the kernel maximum, under a correct sha256',
      (path) =>
        rewritten(path, (spec) => {
          (spec.services as Service[])[0]!.destinations[0]!.weight = 2 ** 31;
        }),
      /is not a valid desired state: .*weight: 2147483648 is not an integer in 0\.\.2147483647/,
      true,
    ],
    [
      'a scope prefix that is no CIDR prefix, under a correct sha256',
      (path) =>
        rewritten(path, (spec) => {
          spec.scope = { prefixes: ['192.0.2.0/33'] };
        }),
      /is not a valid desired state: .*scope\.prefixes: "192\.0\.2\.0\/33" is not a CIDR prefix/,
      true,
    ],
    [
      'a file cut in half',
      (path) => {
        const text = readFileSync(path, 'utf8');
        writeFileSync(path, text.slice(0, text.length >> 1));
      },
      /is not JSON \(truncated\?\)/,
      false,
    ],
  ];

  /** Generations 1 and 2 of desiredStates/soak as the server wrote them: soak.json and soak.prev.json. */
  let written: string;
  beforeAll(async () => {
    written = testStateDir();
    const a = await Ipvsd.start(written, { netns: ns.name });
    await a.client.putDesiredState({ desiredState: soakSpec(0), expectedGeneration: -1n });
    await a.client.putDesiredState({ desiredState: soakSpec(1), expectedGeneration: 1n });
    expect(await a.stop()).toBe(0);
    expect(kernel()).toEqual(rulesOf(soakSpec(1)));
    expect(readdirSync(written).sort()).toEqual([FILE, PREV]);
  });

  it.each(damages)(
    '%s: the binary exits 1 naming the file and the reason, changing nothing; after the mv it prints, it starts with the kept generation and the kernel has its rules',
    async (_, damage, reason, decodes) => {
      const dir = testStateDir();
      cpSync(written, dir, { recursive: true });
      const path = join(dir, FILE);
      damage(path);
      // The validation cases pass the format's own check (JSON, fields, sha256): it is the spec that is refused.
      if (decodes) expect(decodeState(readFileSync(path), path, 'soak').generation).toBe(2);
      flush();
      const r = await refusedStart(dir, { netns: ns.name });
      expect(r.code).toBe(1);
      const line = r.err.split('\n').find((l) => l.startsWith('ipvsd: cannot start: '));
      expect(line, r.err).toBeDefined();
      expect(line!.startsWith(`ipvsd: cannot start: ${path}: `)).toBe(true);
      expect(line).toMatch(reason);
      if (decodes) expect(line).not.toContain('sha256');
      expect(line).toContain('Its last good version (generation 1) is kept beside it');
      // The JSON log says the same, path and reason apart.
      const fatal = r.out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: number; path?: string; reason?: string })
        .find((l) => l.level === 60);
      expect(fatal?.path).toBe(path);
      expect(`${path}: ${fatal?.reason}`).toMatch(reason);
      // It refused before touching anything: the kernel is as the flush left it, the files as the damage did.
      expect(kernel()).toEqual([]);
      expect(readdirSync(dir).sort()).toEqual([FILE, PREV]);

      // The operator pastes the recovery it printed.
      const mv = /restore it with: (mv .+)$/.exec(line!)?.[1];
      expect(mv).toBe(`mv ${join(dir, PREV)} ${path}`);
      execFileSync('sh', ['-c', mv!]);
      const b = await Ipvsd.start(dir, { netns: ns.name });
      expect(kernel()).toEqual(rulesOf(soakSpec(0)));
      const got = (await b.client.getDesiredState({ name: NAME })).desiredState!;
      expect(got.generation).toBe(1n);
      expect(specJson(got)).toEqual(specJson(soakSpec(0)));
      // And it counts on from the kept generation.
      const next = await b.client.putDesiredState({ desiredState: soakSpec(2), expectedGeneration: 1n });
      expect(next.desiredState?.generation).toBe(2n);
      expect(kernel()).toEqual(rulesOf(soakSpec(2)));
      expect(await b.stop()).toBe(0);
    },
  );
});

describe('two clients racing on one generation', () => {
  const ROUNDS = 20;

  it(`${ROUNDS} rounds of both reading, then both putting with the generation read: exactly one wins (+1), the other is ABORTED, and the winner's spec is stored and applied`, async () => {
    const dir = testStateDir();
    const sock = `/run/ipvsd-race-${process.pid}.sock`;
    const server = await Ipvsd.start(dir, { netns: ns.name, unix: sock });
    // Two connections for certain: one over TCP, one over the unix socket.
    const clients = [server.client, connectIpvs(`unix:${sock}`)] as const;
    await clients[0].putDesiredState({ desiredState: soakSpec(0), expectedGeneration: -1n });
    const wins = [0, 0];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const read = await Promise.all(clients.map((c) => c.getDesiredState({ name: NAME })));
        const generation = read[0]!.desiredState!.generation;
        expect(read[1]!.desiredState!.generation).toBe(generation);
        expect(generation).toBe(BigInt(round + 1));
        // Client 0 wants weight 1000 + round, client 1 weight 2001 + round and the other destination set.
        const specs = [soakSpec(999 + round), soakSpec(2000 + round)];
        const puts = await Promise.allSettled(
          clients.map((c, k) => c.putDesiredState({ desiredState: specs[k], expectedGeneration: generation })),
        );
        const won = puts.flatMap((p, k) => (p.status === 'fulfilled' ? [{ k, r: p.value }] : []));
        const lost = puts.flatMap((p) => (p.status === 'rejected' ? [p.reason as unknown] : []));
        expect(won, `round ${round}: one winner`).toHaveLength(1);
        expect(won[0]!.r.desiredState?.generation).toBe(generation + 1n);
        expect(lost).toHaveLength(1);
        expect(lost[0]).toBeInstanceOf(IpvsError);
        expect(lost[0]).toMatchObject({ code: status.ABORTED, field: 'expected_generation' });
        const winner = specs[won[0]!.k]!;
        wins[won[0]!.k]!++;
        const got = (await clients[1 - won[0]!.k]!.getDesiredState({ name: NAME })).desiredState!;
        expect(got.generation).toBe(generation + 1n);
        expect(specJson(got)).toEqual(specJson(winner));
        expect(disk(dir, false).current).toEqual({ name: NAME, generation: round + 2, spec: specJson(winner) });
        expect(kernel()).toEqual(rulesOf(winner));
      }
    } finally {
      clients[1].close();
    }
    expect(wins[0]! + wins[1]!).toBe(ROUNDS);
    expect(await server.stop()).toBe(0);
  });
});
