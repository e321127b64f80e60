// The Go and Python clients generated into gen/, driven by the README's
// example programs (examples/go, examples/python) against the server while
// real traffic flows; the kernel is cross-checked with ipvsadm.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopology, type Topology } from '../kernel/topology.js';
import { useServer } from './helpers.js';

const ctx = useServer();
const root = resolve(import.meta.dirname, '../..');
let net: Topology;

/** Builds examples/go (scripts/build-go-example.sh; `npm test`'s checks built it on the host first, so this is a cache hit). */
function buildGo(): string {
  const out = join(mkdtempSync('/var/tmp/ipvsd-go-'), 'example');
  execFileSync('bash', [join(root, 'scripts/build-go-example.sh'), out], { stdio: 'pipe' });
  return out;
}

/** Runs a client program; when it reports its first tick, sends traffic. Returns its lines. */
async function drive(cmd: string, args: string[]): Promise<string[]> {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let sent = false;
  let created: string[] = [];
  for await (const line of createInterface({ input: p.stdout! })) {
    lines.push(line);
    if (line.startsWith('created')) created = ctx.ns.saved();
    if (line.startsWith('tick') && !sent) {
      sent = true;
      net.request(4);
    }
  }
  const code = await new Promise((r) => (p.exitCode !== null ? r(p.exitCode) : p.on('exit', r)));
  expect(code).toBe(0);
  expect(created.sort()).toEqual([
    '-A -t 192.0.2.10:80 -s rr',
    '-a -t 192.0.2.10:80 -r 203.0.113.2:8080 -m -w 1',
    '-a -t 192.0.2.10:80 -r 203.0.113.6:8080 -m -w 1',
  ]);
  return lines;
}

describe('generated clients of other languages', () => {
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
  });
  afterAll(() => net?.close());

  it("Go (examples/go with Debian's Go and gRPC): create, read back, watch traffic, delete", async () => {
    const bin = buildGo();
    const lines = await drive(bin, ['-addr', ctx.address, '-netns', ctx.ns.name, '-expect', '4']);
    expect(lines[0]).toBe('created rr 2 destinations');
    expect(lines).toContain('tick connections=4');
    expect(lines.at(-1)).toBe('deleted');
    expect(ctx.ns.saved()).toEqual([]);
  }, 300_000);

  it("Python (examples/python with Debian's python3-grpcio): the same", async () => {
    const lines = await drive('/usr/bin/python3', [
      join(root, 'examples/python/example.py'),
      '--addr',
      ctx.address,
      '--netns',
      ctx.ns.name,
      '--expect',
      '4',
    ]);
    expect(lines[0]).toBe('created rr 2 destinations');
    expect(lines).toContain('tick connections=4');
    expect(lines.at(-1)).toBe('deleted');
    expect(ctx.ns.saved()).toEqual([]);
  }, 120_000);
});
