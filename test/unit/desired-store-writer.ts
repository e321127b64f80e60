// A stream of puts for the crash-safety test (desired-store.test.ts), which SIGKILLs this process at random points.
// Usage: node --import tsx desired-store-writer.ts DIR PUTS
// Puts PUTS states round-robin over a few names, each one generation past what the store holds, with a few puts in
// flight at once (the store serializes them), and prints "acked <name> <generation>" as each one resolves. Writes
// to a pipe are synchronous on Linux, so a line the parent reads is a put that had resolved. Then it waits to be killed.
import { DesiredStore } from '../../src/desired/store.js';

export const NAMES = ['desiredStates/alpha', 'desiredStates/bravo', 'desiredStates/charlie'];

/** The spec of `name` at `generation`: it says which it is, and its size varies so that writes differ in length. */
export function specOf(name: string, generation: number) {
  return { name, generation, pad: 'x'.repeat((generation * 7919) % 50_000) };
}

async function main(dir: string, puts: number): Promise<void> {
  const store = await DesiredStore.open(dir);
  const next = new Map(NAMES.map((n) => [n, (store.get(n)?.generation ?? 0) + 1]));
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < puts; i++) {
    const name = NAMES[i % NAMES.length]!;
    const generation = next.get(name)!;
    next.set(name, generation + 1);
    const p = store.put({ name, generation, spec: specOf(name, generation) }).then(() => {
      process.stdout.write(`acked ${name} ${generation}\n`);
      inFlight.delete(p);
    });
    inFlight.add(p);
    if (inFlight.size >= 3) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  process.stdout.write('done\n');
  setInterval(() => {}, 60_000);
}

if (process.argv[1]?.endsWith('desired-store-writer.ts')) await main(process.argv[2]!, Number(process.argv[3]));
