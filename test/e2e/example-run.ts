// The README's example programs (Go, Python, TypeScript) all do the same
// thing: create a service with two destinations, read it back, watch its
// counters, delete it. This runs one against the test's server, sends real
// traffic once it reports its first tick, and checks what the kernel held
// when it said "created" (ipvsadm -S) and that it exited 0.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import type { Topology } from '../kernel/topology.js';
import type { Netns } from '../kernel/helpers.js';

/** The lines an example printed. */
export async function runExample(
  ns: Netns,
  net: Topology,
  cmd: string,
  args: string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string[]> {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: o.cwd, env: { ...process.env, ...o.env } });
  const lines: string[] = [];
  let sent = false;
  let created: string[] = [];
  for await (const line of createInterface({ input: p.stdout! })) {
    lines.push(line);
    if (line.startsWith('created')) created = ns.saved();
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
  expect(lines).toContain('tick connections=4');
  expect(lines.at(-1)).toBe('deleted');
  expect(ns.saved()).toEqual([]);
  return lines;
}
