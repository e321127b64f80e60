// The @ipvsd/client package (src/client/package.json, an npm workspace) ships
// the client's own source: it has the repository's one version, depends on
// grpc-js and protobuf-es alone (at the root's ranges, so the workspace
// shares one copy of each), and nothing the client imports reaches past
// src/client, src/rpc/wire.ts and gen/ts/ipvs/v1. Packing, installing and
// running it is scripts/client-package.ts and test/e2e/client-package.test.ts.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientDependencies, serverOnly } from '../../scripts/client-package.js';

const root = resolve(import.meta.dirname, '../..');
const json = (f: string) => JSON.parse(readFileSync(resolve(root, f), 'utf8'));
const rootPkg = json('package.json');
const client = json('src/client/package.json');

/** Every file the client's index reaches by relative imports, and every package it names. */
function graph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, spec] of text.matchAll(/^(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
      else packages.add(spec!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('@ipvsd/client', () => {
  it("has the root package's version (npm version X --workspaces --include-workspace-root moves both)", () => {
    expect(client.name).toBe('@ipvsd/client');
    expect(client.version).toBe(rootPkg.version);
    expect(json('package-lock.json').packages['src/client'].version).toBe(rootPkg.version);
  });

  it("is the root's workspace, depending on grpc-js and protobuf-es alone, at the root's ranges", () => {
    expect(rootPkg.workspaces).toContain('src/client');
    expect(Object.keys(client.dependencies).sort()).toEqual([...clientDependencies].sort());
    for (const d of clientDependencies) expect([d, client.dependencies[d]]).toEqual([d, rootPkg.dependencies[d]]);
    expect(client.devDependencies ?? {}).toEqual({});
    expect(serverOnly()).toEqual(expect.arrayContaining(['ffi-rs', 'pino', 'prom-client', 'commander']));
  });

  it('is ESM with its types, from what its build emits', () => {
    expect(client.type).toBe('module');
    expect(client.exports['.']).toEqual({
      types: './dist/src/client/index.d.ts',
      default: './dist/src/client/index.js',
    });
    expect(client.files).toEqual(['dist/**/*.js', 'dist/**/*.d.ts', 'dist/LICENSE']);
  });

  it('imports, from the client down, only its dependencies, Node, and files the package carries', () => {
    const { files, packages } = graph(resolve(root, 'src/client/index.ts'));
    const carried = (f: string) =>
      f.startsWith('src/client/') || f === 'src/rpc/wire.ts' || /^gen\/ts\/ipvs\/v1\/[^/]+\.ts$/.test(f);
    expect([...files].map((f) => relative(root, f)).filter((f) => !carried(f))).toEqual([]);
    const allowed = (p: string) =>
      p.startsWith('node:') ||
      builtinModules.includes(p) ||
      clientDependencies.some((d) => p === d || p.startsWith(`${d}/`));
    expect([...packages].filter((p) => !allowed(p))).toEqual([]);
    expect([...files].map((f) => relative(root, f))).toContain('gen/ts/ipvs/v1/service_config.ts');
  });
});
