// The Go and Python clients generated into gen/, consumed as their users do (a module-mode Go program requiring
// github.com/ipvsd/ipvsd/gen/go; the ipvsd-api wheel in a virtual environment), driven by the README's example
// programs (examples/go, examples/python) against the server while real traffic flows; the kernel is cross-checked
// with ipvsadm.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopology, type Topology } from '../kernel/topology.js';
import { runExample } from './example-run.js';
import { useServer } from './helpers.js';
import { installPythonClient, type PythonClient } from './python.js';

const ctx = useServer();
const root = resolve(import.meta.dirname, '../..');
let net: Topology;
let py: PythonClient | undefined;

/**
 * Builds examples/go in module mode, offline (scripts/build-go-example.sh: a file-system module proxy of Debian's
 * Go sources; `npm test`'s checks built it on the host first, so this is a cache hit).
 */
function buildGo(): string {
  const out = join(mkdtempSync('/var/tmp/ipvsd-go-'), 'example');
  execFileSync('bash', [join(root, 'scripts/build-go-example.sh'), out], { stdio: 'pipe' });
  return out;
}

describe('generated clients of other languages', () => {
  beforeAll(async () => {
    net = await createTopology(ctx.ns);
  });
  afterAll(() => {
    net?.close();
    py?.remove();
  });

  it('Go (examples/go, a module-mode program requiring github.com/ipvsd/ipvsd/gen/go): create, read back, watch traffic, delete', async () => {
    const bin = buildGo();
    // Debian's grpc-go 1.33 applies (and so validates) the service config's retryPolicy only with GRPC_GO_RETRY=on.
    const lines = await runExample(ctx.ns, net, bin, ['-addr', ctx.address, '-netns', ctx.ns.name, '-expect', '4'], {
      env: { GRPC_GO_RETRY: 'on' },
    });
    expect(lines[0]).toBe('created rr 2 destinations');
  }, 300_000);

  it('Python (the ipvsd-api wheel in a venv of its own, examples/python run from outside the repository): the same', async () => {
    py = installPythonClient();
    const imported = execFileSync(py.python, ['-c', 'import ipvs.v1; print(ipvs.v1.__file__)'], {
      cwd: py.cwd,
      encoding: 'utf8',
    });
    expect(imported).toContain('/venv/lib/');
    const lines = await runExample(
      ctx.ns,
      net,
      py.python,
      [py.example, '--addr', ctx.address, '--netns', ctx.ns.name, '--expect', '4'],
      {
        cwd: py.cwd,
      },
    );
    expect(lines[0]).toBe('created rr 2 destinations');
  }, 300_000);
});
