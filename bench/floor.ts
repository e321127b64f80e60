// Compiles bench/floor.c once on the host, where gcc is fast; every guest
// runs the same binary, since it boots with this machine's filesystem as root.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './boot.js';

/** Builds .uml/floor (git-ignored) and returns its path relative to the checkout, where guests start. */
export function buildFloor(): string {
  mkdirSync(join(root, '.uml'), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', '.uml/floor', 'bench/floor.c'], {
    cwd: root,
    stdio: 'inherit',
  });
  return '.uml/floor';
}
