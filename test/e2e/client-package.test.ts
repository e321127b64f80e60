// The @ipvsd/client package as its users get it: scripts/client-package.ts
// packs the workspace, installs the tarball with examples/typescript into an
// empty directory outside the repository (offline, from the npm cache), type-
// checks and compiles the example with tsc and checks `npm ls` there for the
// server's dependencies (once per version of its inputs: the host's checks do
// it, cachedClientPackage); here the compiled example runs against the server
// while real traffic flows, cross-checked with ipvsadm.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedClientPackage, serverOnly } from '../../scripts/client-package.js';
import { createTopology, type Topology } from '../kernel/topology.js';
import { runExample } from './example-run.js';
import { useServer } from './helpers.js';

const ctx = useServer();
let net: Topology;
let consumer: string;

describe('the @ipvsd/client package, installed from its tarball outside the repository', () => {
  beforeAll(async () => {
    consumer = cachedClientPackage();
    net = await createTopology(ctx.ns);
  }, 300_000);
  afterAll(() => {
    net?.close();
  });

  it('holds the client and its two dependencies, none of the server', () => {
    expect(consumer.startsWith('/var/tmp/')).toBe(true);
    const has = (p: string) => existsSync(join(consumer, 'node_modules', p, 'package.json'));
    expect(has('@ipvsd/client') && has('@grpc/grpc-js') && has('@bufbuild/protobuf')).toBe(true);
    expect(serverOnly().filter(has)).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(consumer, 'node_modules/@ipvsd/client/package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@bufbuild/protobuf', '@grpc/grpc-js']);
  });

  it('its example, type-checked against it: create, read back, list, watch traffic, delete', async () => {
    const lines = await runExample(
      ctx.ns,
      net,
      process.execPath,
      [join(consumer, 'dist/example.js'), '--addr', ctx.address, '--netns', ctx.ns.name, '--expect', '4'],
      { cwd: consumer },
    );
    expect(lines.slice(0, 3)).toEqual(['again EEXIST', 'created rr 2 destinations', 'listed 2 destinations']);
  }, 120_000);
});
