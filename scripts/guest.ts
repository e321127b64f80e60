// `npx tsx scripts/guest.ts 'COMMAND'`: runs one shell command as root in a
// fresh user-mode Linux 6.1 with IPVS (cwd: this checkout), echoing its
// output, and exits with its status. For running one test file or a
// benchmark piece by hand, e.g.
//   npx tsx scripts/guest.ts 'node node_modules/vitest/vitest.mjs run --project e2e test/e2e/cli.test.ts'
import { resolve } from 'node:path';
import { runInUml } from '../src/sandbox/uml.js';

const command = process.argv.slice(2).join(' ');
if (!command) throw new Error('usage: tsx scripts/guest.ts COMMAND');
const r = await runInUml({
  command,
  cwd: resolve(import.meta.dirname, '..'),
  echo: (s) => process.stdout.write(s),
  timeoutMs: 20 * 60_000,
  keepOutput: false,
});
process.exit(r.code);
