// The @ipvsd/client package as a user gets it: `npm pack` of the workspace
// (src/client, built by its prepack), the tarball installed with the example
// consumer (examples/typescript) into an empty directory outside the
// repository, the consumer type-checked and compiled with its own tsc, and
// `npm ls` there holding none of the server's dependencies.
//   npx tsx scripts/client-package.ts [DIR]   in DIR (kept), else in a fresh directory under /var/tmp (removed)
//   npx tsx scripts/client-package.ts --cached   once per version of its inputs, kept (cachedClientPackage)
// `npm test`'s checks run it (--cached); test/e2e/client-package.test.ts runs the
// compiled consumer (DIR/consumer/dist/example.js) against the server.
//
// Offline, from the npm cache alone: `npm install` would resolve ranges from
// full packuments, which a root `npm ci` never fetches, so the consumer gets
// a lockfile instead, the root's cut down to what the consumer needs (the very
// versions the repository is tested with), and `npm ci --offline` installs it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
/** The npm beside this node (as Node's own installers place it), else the one on PATH. */
const npmCli = join(process.execPath, '../../lib/node_modules/npm/bin/npm-cli.js');
const npm = existsSync(npmCli) ? [process.execPath, npmCli] : ['npm'];
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** What the client package may bring: its own two dependencies (and theirs), never the server's others. */
export const clientDependencies = ['@grpc/grpc-js', '@bufbuild/protobuf'];
export const serverOnly = (): string[] =>
  Object.keys(json(join(root, 'package.json')).dependencies).filter((d) => !clientDependencies.includes(d));

/**
 * What an `npm test` or `npm run` that started us passes its children about
 * itself (its package, its prefix, its workspace): not for the npm we run in
 * another directory. Its other settings (the cache, the registry) stay.
 */
const ABOUT_THE_PARENT =
  /^npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_(local_prefix|prefix|global_prefix|call|workspaces?|include_workspace_root)$)/i;

/** A command's output; a failure's error carries all of it (tsc reports on stdout). */
function exec(cmd: string, args: string[], cwd: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !ABOUT_THE_PARENT.test(k)));
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${[cmd, ...args].join(' ')} in ${cwd}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** npm in `cwd`. */
const run = (cwd: string, args: string[]) => exec(npm[0]!, [...npm.slice(1), ...args], cwd);

interface LockEntry {
  version?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * The root lockfile's packages that `names` need, at the same paths: each
 * name resolved as Node does (the nearest node_modules up from its
 * dependent), and then their dependencies in turn.
 */
function lockedClosure(names: string[]): Record<string, LockEntry> {
  const all: Record<string, LockEntry> = json(join(root, 'package-lock.json')).packages;
  const out: Record<string, LockEntry> = {};
  const visit = (from: string, name: string, optional: boolean) => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const path = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      const e = all[path];
      if (e && !e.link) {
        if (out[path]) return;
        const { dev: _dev, devOptional: _devOptional, ...entry } = e;
        out[path] = entry;
        for (const d of Object.keys(e.dependencies ?? {})) visit(path, d, false);
        for (const d of Object.keys(e.optionalDependencies ?? {})) visit(path, d, true);
        for (const d of Object.keys(e.peerDependencies ?? {})) visit(path, d, true);
        return;
      }
      if (!dir) break;
    }
    // Optional and peer dependencies of other platforms or unused are not in the root's tree either.
    if (!optional) throw new Error(`package-lock.json has no ${name} for ${from || 'the root'}`);
  };
  for (const n of names) visit('', n, false);
  return out;
}

/** Every package name in an `npm ls --all --json` tree. */
function names(tree: { dependencies?: Record<string, unknown> }, out = new Set<string>()): Set<string> {
  for (const [name, sub] of Object.entries(tree.dependencies ?? {})) {
    out.add(name);
    names(sub as typeof tree, out);
  }
  return out;
}

/** Packs, installs and type-checks into `base` (a fresh directory under /var/tmp by default); returns the consumer's directory. */
export function installClientPackage(base = mkdtempSync('/var/tmp/ipvsd-ts-client-')): string {
  const client = json(join(root, 'src/client/package.json'));
  run(root, ['pack', '--workspace', client.name, '--pack-destination', base, '--silent']);
  const file = `${client.name.replace('@', '').replace('/', '-')}-${client.version}.tgz`;
  if (!existsSync(join(base, file))) throw new Error(`npm pack made no ${join(base, file)}`);
  const consumer = join(base, 'consumer');
  mkdirSync(consumer);
  for (const f of ['tsconfig.json', 'example.ts'])
    copyFileSync(join(root, 'examples/typescript', f), join(consumer, f));

  // The consumer's package.json as it is, but for @ipvsd/client: the tarball rather than the registry's.
  const pkg = json(join(root, 'examples/typescript/package.json'));
  const spec = `file:../${file}`;
  pkg.dependencies[client.name] = spec;
  writeFileSync(join(consumer, 'package.json'), JSON.stringify(pkg, null, 2));
  const theirs = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => d !== client.name);
  const tgz = readFileSync(join(base, file));
  const lock = {
    name: pkg.name,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: pkg.name, dependencies: pkg.dependencies, devDependencies: pkg.devDependencies },
      [`node_modules/${client.name}`]: {
        version: client.version,
        resolved: spec,
        integrity: `sha512-${createHash('sha512').update(tgz).digest('base64')}`,
        license: client.license,
        dependencies: client.dependencies,
        engines: client.engines,
      },
      ...lockedClosure([...new Set([...theirs, ...Object.keys(client.dependencies)])]),
    },
  };
  writeFileSync(join(consumer, 'package-lock.json'), JSON.stringify(lock, null, 2));
  run(consumer, ['ci', '--offline', '--no-audit', '--no-fund', '--silent']);

  exec(process.execPath, [join(consumer, 'node_modules/typescript/bin/tsc'), '-p', consumer], consumer);
  const installed = names(JSON.parse(run(consumer, ['ls', '--all', '--json'])));
  const missing = [client.name, ...clientDependencies].filter((d) => !installed.has(d));
  const unwanted = serverOnly().filter((d) => installed.has(d));
  if (missing.length || unwanted.length)
    throw new Error(
      `npm ls in ${consumer}: missing ${missing.join(', ') || 'none'}; unwanted ${unwanted.join(', ') || 'none'}`,
    );
  return consumer;
}

/** What the package and its consumer are made from: a change to any of them packs and installs afresh. */
const INPUTS = [
  'src/client',
  'src/rpc',
  'gen/ts',
  'examples/typescript',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'LICENSE',
  'scripts/client-package.ts',
];

/**
 * installClientPackage's consumer, made once per version of its inputs (scripts/cache.sh) under /var/tmp: outside the
 * repository, so nothing resolves from the repository's node_modules. The host's checks make it; the e2e test in
 * user-mode Linux, where packing and installing took ~110 s, finds it.
 */
export function cachedClientPackage(): string {
  const script = [
    `source ${JSON.stringify(join(root, 'scripts/cache.sh'))}`,
    `CACHE_BASE=/var/tmp/ipvsd-cache cached client-package "$(tree_key ${INPUTS.join(' ')} -- "$("$0" --version)")" sh -c '"$0" --import tsx "$1" "$CACHE_OUT"' "$0" "$1"`,
  ].join(' && ');
  const out = exec('bash', ['-c', script, process.execPath, import.meta.filename], root);
  return join(out.trim(), 'consumer');
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const dir = process.argv[2];
  if (dir === '--cached') {
    console.log(`ipvsd: @ipvsd/client packed, installed offline, type-checked in ${cachedClientPackage()}`);
  } else {
    if (dir) mkdirSync(dir, { recursive: true });
    const consumer = installClientPackage(dir);
    console.log(
      `ipvsd: @ipvsd/client packed, installed offline, type-checked in ${consumer}; npm ls: no server dependency`,
    );
    if (!dir) rmSync(resolve(consumer, '..'), { recursive: true, force: true });
  }
}
