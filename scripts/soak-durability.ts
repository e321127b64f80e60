// `npx tsx scripts/soak-durability.ts [kills=50]`: the durability soak of test/e2e/desired-durability.test.ts
// (SIGKILLs of the server binary at random instants of a stream of Puts, 10 Puts per kill) with more kills than
// the suite's 8, in a fresh user-mode Linux boot. Run `npm run build` first; set IPVSD_TEST_SEED to replay a run.
// Exits with the test's status.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runInUml } from '../src/sandbox/uml.js';

const root = resolve(import.meta.dirname, '..');
const kills = Number(process.argv[2] ?? 50);
if (!(Number.isInteger(kills) && kills >= 1 && kills <= 1000))
  throw new Error('usage: tsx scripts/soak-durability.ts [kills (1..1000), default 50]');
if (!existsSync(resolve(root, 'dist/src/server/main.js'))) throw new Error('no dist/: run npm run build first');

const seed = process.env.IPVSD_TEST_SEED ? ` IPVSD_TEST_SEED=${Number(process.env.IPVSD_TEST_SEED)}` : '';
const r = await runInUml({
  command:
    `IPVSD_SOAK_KILLS=${kills}${seed} '${process.execPath}' node_modules/vitest/vitest.mjs run --project e2e ` +
    `test/e2e/desired-durability.test.ts -t 'SIGKILL during'`,
  cwd: root,
  echo: (s) => process.stdout.write(s),
  // A restart takes 5 to 15 s in the guest; the boot and vitest's start.
  timeoutMs: kills * 30_000 + 5 * 60_000,
});
process.exit(r.code);
