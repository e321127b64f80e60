// `npm test`: unit tests on this machine, kernel and e2e tests inside
// user-mode Linux, then one summary line "N passed, N failed, N skipped" over all.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runInUml } from '../src/sandbox/uml.js';

const root = resolve(import.meta.dirname, '..');
const reports = join(root, '.uml', 'reports');
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const only = process.argv.slice(2); // e.g. `npm test -- kernel`; suites: checks unit kernel e2e sandbox no-ipvs
const wanted = (suite: string) => !only.length || only.includes(suite);

/** One vitest run: a suite, or some of its files, reported as `report`.json. */
interface Run {
  suite: string;
  files?: string[];
  report: string;
}
const whole = (suite: string): Run => ({ suite, report: suite });
const args = (r: Run) => [
  vitest,
  'run',
  '--project',
  r.suite,
  ...(r.files ?? []),
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${join(reports, `${r.report}.json`)}`,
];

interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}
const totals: Totals = { passed: 0, failed: 0, skipped: 0 };
function count(suite: string, code: number): void {
  const file = join(reports, `${suite}.json`);
  if (!existsSync(file)) {
    console.log(`ipvsd: suite ${suite} wrote no report (exit ${code}): counted as one failure`);
    totals.failed++;
    return;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  totals.passed += r.numPassedTests;
  totals.failed += r.numFailedTests;
  totals.skipped += r.numPendingTests + r.numTodoTests;
  if (code !== 0 && r.numFailedTests === 0) {
    console.log(
      `ipvsd: suite ${suite} exited ${code} with no failed test (a failed file or hook): counted as one failure`,
    );
    totals.failed++;
  }
}

/** An echo that writes whole lines, each after `prefix`: two guests' output interleaves by line, not mid-line. */
function lineEcho(prefix: string): (s: string) => void {
  let partial = '';
  return (s) => {
    const lines = (partial + s).split('\n');
    partial = lines.pop()!;
    for (const l of lines) process.stdout.write(`${prefix}${l}\n`);
  };
}

/** Runs vitest suites one after another in one user-mode Linux boot. */
async function inUml(runs: Run[], ipvs: boolean, prefix = ''): Promise<void> {
  if (!runs.length) return;
  const cmd = runs
    .map(
      (r) =>
        `${[process.execPath, ...args(r)].map((a) => `'${a}'`).join(' ')}; echo $? > '${join(reports, `${r.report}.rc`)}'`,
    )
    .join('; ');
  // The soak's length is the caller's to choose (SOAK_SECONDS=300 for five minutes).
  const env = process.env.SOAK_SECONDS ? { SOAK_SECONDS: process.env.SOAK_SECONDS } : undefined;
  await runInUml({ command: cmd, cwd: root, ipvs, env, echo: lineEcho(prefix), timeoutMs: 40 * 60_000 });
  for (const r of runs) {
    const rc = join(reports, `${r.report}.rc`);
    count(r.report, existsSync(rc) ? Number(readFileSync(rc, 'utf8').trim()) : -1);
  }
}

/** Seconds each suite and e2e file took in a whole run (scripts/test-weights.ts writes them). */
const weights = JSON.parse(readFileSync(join(root, 'scripts', 'test-weights.json'), 'utf8')) as Record<string, number>;

/**
 * The e2e files in two lists of about equal seconds, each list's guest having
 * `headStart` seconds of other work beside them: longest first, each to the
 * guest that would end sooner. A file not weighed yet counts as a minute.
 */
function splitE2e(headStart: [number, number]): [string[], string[]] {
  const files = readdirSync(join(root, 'test', 'e2e'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => `test/e2e/${f}`);
  const secs = (f: string) => weights[f] ?? 60;
  files.sort((a, b) => secs(b) - secs(a) || a.localeCompare(b));
  const lists: [string[], string[]] = [[], []];
  const load = [...headStart];
  for (const f of files) {
    const g = load[0]! <= load[1]! ? 0 : 1;
    lists[g].push(f);
    load[g]! += secs(f);
  }
  return lists;
}

/**
 * Runs a command without blocking the event loop (a guest's output is echoed meanwhile): its exit code, and its
 * output unless `inherit` passes it through.
 */
function run(cmd: string, argv: string[], inherit = false): Promise<{ code: number; output: string }> {
  const p = spawn(cmd, argv, { cwd: root, stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
  let output = '';
  p.stdout?.on('data', (d) => {
    output += d;
  });
  p.stderr?.on('data', (d) => {
    output += d;
  });
  return new Promise((resolve) => {
    p.on('error', (e) => resolve({ code: -1, output: String(e) }));
    p.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** A check that is not a vitest suite: counted as one test, passed or failed. */
async function check(name: string, cmd: string, argv: string[]): Promise<void> {
  const r = await run(cmd, argv);
  const ok = r.code === 0;
  totals[ok ? 'passed' : 'failed']++;
  console.log(`ipvsd: check ${name}: ${ok ? 'ok' : `FAILED\n${r.output}`}`);
}

console.log('ipvsd: checking Debian packages (scripts/install-deps.sh)');
execFileSync('bash', [join(root, 'scripts', 'install-deps.sh'), 'test'], { stdio: 'inherit' });

const bin = (name: string) => join(root, 'node_modules', '.bin', name);
// dist/ is what npm start, ipvsctl and the image run: every suite uses a fresh one.
await check('build (npm run build: tsc into dist/, ipvsctl bundled by esbuild)', 'npm', ['run', '--silent', 'build']);

// The run is CPU-bound on two cores: guest 1 starts at once with the kernel suite (which needs only the build), its
// e2e files after it; the host's checks and unit tests run meanwhile, then guest 2 starts with the other e2e files,
// and npm start's sandbox and the kernel without IPVS follow it. The e2e files are split so that both end together
// (scripts/test-weights.json: every part's seconds in a whole run).
const [first, second] = splitE2e([
  wanted('kernel') ? weights.kernel! : 0,
  (wanted('checks') || wanted('unit') ? weights.host! : 0) +
    (wanted('sandbox') ? weights.sandbox! : 0) +
    (wanted('no-ipvs') ? weights['no-ipvs']! : 0),
]);
const e2e = (files: string[], n: number): Run[] =>
  wanted('e2e') && files.length ? [{ suite: 'e2e', files, report: `e2e-${n}` }] : [];
const withIpvs = ['kernel', 'e2e'].filter(wanted);
if (withIpvs.length)
  console.log(
    `ipvsd: ${withIpvs.join(' and ')} tests (inside user-mode Linux 6.1 with IPVS; two guests at once, one per core)`,
  );
const guest1 = inUml([...(wanted('kernel') ? [whole('kernel')] : []), ...e2e(first, 1)], true, '[guest 1] ');

const hostStart = Date.now();
if (wanted('checks')) {
  await check('typecheck, tests included (tsc)', bin('tsc'), ['--noEmit', '-p', '.']);
  await check('biome ci (format and lint)', bin('biome'), ['ci', '--colors=off', '.']);
  await check('buf lint', bin('buf'), ['lint']);
  // gen/ must be exactly what `npm run generate` (buf generate, then the packaging files) makes from proto/.
  await check('gen/ matches npm run generate', 'sh', [
    '-c',
    `'${bin('tsx')}' scripts/generate.ts && test -z "$(git status --porcelain -- gen)"`,
  ]);
  // The example clients of other languages build, offline, and the Python distribution builds and installs: into
  // .uml/cache, where the e2e tests find them while their sources are unchanged (scripts/cache.sh).
  await check('Go example builds in module mode, offline (scripts/build-go-example.sh)', 'bash', [
    join(root, 'scripts/build-go-example.sh'),
    join(root, '.uml', 'go-example'),
  ]);
  await check('Python example compiles (Debian python3)', '/usr/bin/python3', [
    '-m',
    'py_compile',
    join(root, 'examples/python/example.py'),
  ]);
  await check('Python wheel ipvsd-api builds and installs into a venv, offline (scripts/python-client.sh)', 'bash', [
    join(root, 'scripts/python-client.sh'),
    '--cached',
  ]);
  // The e2e test (test/e2e/client-package.test.ts) runs this consumer inside user-mode Linux.
  await check(
    'npm pack @ipvsd/client, installed offline outside the repository, consumer type-checks, npm ls',
    bin('tsx'),
    [join(root, 'scripts/client-package.ts'), '--cached'],
  );
  await check('yamllint deploy/kubernetes', 'yamllint', [
    '-d',
    '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}',
    join(root, 'deploy/kubernetes'),
  ]);
  // The bare-metal unit, alone and with its netns drop-in, run by this very node.
  await check('systemd-analyze verify deploy/systemd', 'bash', [
    join(root, 'scripts/verify-systemd.sh'),
    process.execPath,
  ]);
  // The API may only change compatibly: compare with the previous commit, once it has protos.
  const previous = spawnSync('git', ['ls-tree', '-d', 'HEAD~1', 'proto'], { cwd: root, encoding: 'utf8' });
  if (previous.status === 0 && previous.stdout.trim()) {
    await check('buf breaking against HEAD~1', bin('buf'), ['breaking', '--against', '.git#ref=HEAD~1']);
  } else {
    console.log('ipvsd: check buf breaking: skipped (the previous commit has no proto/)');
  }
}

if (wanted('unit')) {
  console.log('ipvsd: unit tests (this machine)');
  count('unit', (await run(process.execPath, args(whole('unit')), true)).code);
}
writeFileSync(join(reports, 'host.json'), `${JSON.stringify({ seconds: (Date.now() - hostStart) / 1000 })}\n`);

const guest2 = (async () => {
  await inUml(e2e(second, 2), true, '[guest 2] ');
  if (wanted('sandbox')) {
    console.log("ipvsd: npm start's sandbox (this machine, booting user-mode Linux behind vde2/slirp)");
    count('sandbox', (await run(process.execPath, args(whole('sandbox')), true)).code);
  }
  if (wanted('no-ipvs')) {
    console.log('ipvsd: tests on a kernel without IPVS (inside user-mode Linux with no modules; booting)');
    await inUml([whole('no-ipvs')], false);
  }
})();
await Promise.all([guest1, guest2]);

console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed ? 1 : 0);
