// Shared fixtures for tests that run inside user-mode Linux: each test file
// gets its own network namespace, so suites never see each other's rules.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { Handle } from '../../src/ipvs/index.js';

export function sh(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const run = promisify(execFile);
const lines = (s: string) => s.split('\n').filter(Boolean);

let counter = 0;

export interface Netns {
  name: string;
  path: string;
  /** Runs a shell command inside the namespace. */
  exec(cmd: string): string;
  /** `ipvsadm ARGS` inside the namespace. */
  ipvsadm(args: string): string;
  /** `ipvsadm -S -n` lines, the canonical dump of the rules. */
  saved(): string[];
  /** saved(), without blocking the event loop: for polling a server that runs in the test's own process. */
  savedAsync(): Promise<string[]>;
  remove(): void;
}

export function createNetns(prefix = 't'): Netns {
  const name = `${prefix}${process.pid}x${counter++}`;
  sh(`ip netns add ${name} && ip -n ${name} link set lo up`);
  const exec = (cmd: string) => sh(`ip netns exec ${name} sh -c '${cmd.replaceAll("'", `'\\''`)}'`);
  return {
    name,
    path: `/run/netns/${name}`,
    exec,
    ipvsadm: (args) => exec(`ipvsadm ${args}`),
    saved: () => lines(exec('ipvsadm -S -n')),
    savedAsync: async () => lines((await run('ip', ['netns', 'exec', name, 'ipvsadm', '-S', '-n'])).stdout),
    remove: () => sh(`ip netns del ${name}`),
  };
}

/** A namespace and a Handle in it for the whole file, flushed before each test. */
export function useIpvs(): { ns: Netns; h: Handle } {
  const ctx = {} as { ns: Netns; h: Handle };
  beforeAll(() => {
    ctx.ns = createNetns();
    ctx.h = new Handle(ctx.ns.path);
  });
  beforeEach(async () => {
    await ctx.h.flush();
  });
  afterAll(() => {
    ctx.h?.close();
    ctx.ns?.remove();
  });
  return ctx;
}
