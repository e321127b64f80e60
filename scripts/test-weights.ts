// `npx tsx scripts/test-weights.ts`: after a whole `npm test`, writes each
// user-mode Linux suite's and e2e file's measured seconds, and the host's
// (from .uml/reports), to scripts/test-weights.json, which scripts/test.ts
// splits the e2e files between its two guests by. A file's seconds run from the end of the file
// before it: its start in a fresh worker and its hooks count too.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const reports = join(root, '.uml', 'reports');

interface Report {
  startTime: number;
  testResults: { name: string; startTime: number; endTime: number }[];
}

const weights: Record<string, number> = {};
for (const suite of ['kernel', 'e2e-1', 'e2e-2']) {
  const file = join(reports, `${suite}.json`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run the whole npm test first`);
  const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
  const files = [...r.testResults].sort((a, b) => a.endTime - b.endTime);
  let before = r.startTime;
  for (const f of files) {
    if (suite === 'kernel') weights.kernel = (weights.kernel ?? 0) + (f.endTime - before) / 1000;
    else weights[f.name.slice(f.name.lastIndexOf('/test/') + 1)] = Math.round((f.endTime - before) / 1000);
    before = f.endTime;
  }
}
weights.kernel = Math.round(weights.kernel!);
// What guest 2's host shares its head start with: the host's checks and unit tests, npm start's sandbox, the kernel
// without IPVS (scripts/test.ts).
weights.host = Math.round(JSON.parse(readFileSync(join(reports, 'host.json'), 'utf8')).seconds);
for (const suite of ['sandbox', 'no-ipvs']) {
  const r = JSON.parse(readFileSync(join(reports, `${suite}.json`), 'utf8')) as Report;
  weights[suite] = Math.round((Math.max(...r.testResults.map((f) => f.endTime)) - r.startTime) / 1000);
}
const sorted = Object.fromEntries(Object.entries(weights).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(join(root, 'scripts', 'test-weights.json'), `${JSON.stringify(sorted, null, 2)}\n`);
console.log(sorted);
