// The Python client as its users have it: the ipvsd-api wheel installed into a virtual environment of its own
// (scripts/python-client.sh --cached: built once per version of its inputs, by the host's checks), and
// examples/python/example.py copied into a directory outside the repository, run from there, so `import ipvs.v1`
// can only find the installed package.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export interface PythonClient {
  /** The environment's interpreter. */
  python: string;
  /** The example program, outside the repository. */
  example: string;
  /** The directory to run it from (holds only the example). */
  cwd: string;
  remove(): void;
}

export function installPythonClient(): PythonClient {
  const dir = mkdtempSync('/var/tmp/ipvsd-python-');
  const python = execFileSync('bash', [join(root, 'scripts/python-client.sh'), '--cached'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const cwd = join(dir, 'run');
  mkdirSync(cwd);
  const example = join(cwd, 'example.py');
  copyFileSync(join(root, 'examples/python/example.py'), example);
  return { python, example, cwd, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
