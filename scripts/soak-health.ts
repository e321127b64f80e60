// `npx tsx scripts/soak-health.ts [minutes=5] [destinations=500]`: a bounded soak of health checking in a fresh
// user-mode Linux boot (scripts/soak-health-guest.ts in the guest): the server as its own process (dist/: run
// `npm run build` first) checks every destination every 1 s while the real servers flap, each going down and up
// every few seconds; every 10 s the server's and its prober's RSS and descriptors and the transitions are sampled.
// Prints the guest's table and its JSON line; exits non-zero when either process grew by more than 20 descriptors
// or 30% of RSS from the 1-minute sample to the last (or the guest failed).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runInUml } from '../src/sandbox/uml.js';

const root = resolve(import.meta.dirname, '..');
const minutes = Number(process.argv[2] ?? 5);
const destinations = Number(process.argv[3] ?? 500);
if (!(minutes > 0 && minutes <= 120) || !(Number.isInteger(destinations) && destinations >= 1 && destinations <= 5000))
  throw new Error(
    'usage: tsx scripts/soak-health.ts [minutes (0..120], default 5] [destinations (1..5000), default 500]',
  );
if (!existsSync(resolve(root, 'dist/src/server/main.js'))) throw new Error('no dist/: run npm run build first');

console.log(`== health soak: ${destinations} flapping destinations checked every 1 s for ${minutes} min ==`);
const r = await runInUml({
  command: `'${process.execPath}' --import tsx scripts/soak-health-guest.ts ${minutes} ${destinations}`,
  cwd: root,
  echo: (s) => process.stdout.write(s),
  // The soak, the boot, the setup and the teardown.
  timeoutMs: minutes * 60_000 + 5 * 60_000,
});
const line = r.output
  .split('\n')
  .reverse()
  .find((l) => l.startsWith('{'));
if (!line) {
  console.log(`soak-health: the guest printed no result (exit ${r.code})`);
  process.exit(r.code || 1);
}
const f = JSON.parse(line) as { ok: boolean };
console.log(`soak-health: ${f.ok && r.code === 0 ? 'passed' : 'FAILED'} (guest exit ${r.code})`);
process.exit(r.code === 0 && f.ok ? 0 : r.code || 1);
