// What the benchmark drivers share on the host: a fresh user-mode Linux boot
// per run, whose last JSON line is the run's result; medians.
import { resolve } from 'node:path';
import { runInUml } from '../src/sandbox/uml.js';

export const root = resolve(import.meta.dirname, '..');
export const REPS = 3;

/** A guest-side benchmark script run with tsx: `guest('bench/guest.ts')`. */
export const guest = (script: string) => `'${process.execPath}' --import tsx ${script}`;

/** Boots a fresh guest, runs `command`, and returns the last JSON line it printed. */
export async function boot(command: string): Promise<Record<string, number>> {
  const r = await runInUml({ command, cwd: root, timeoutMs: 590_000 });
  const line = r.output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (r.code !== 0 || !line) throw new Error(`benchmark boot failed (exit ${r.code}):\n${r.output}`);
  return JSON.parse(line);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
