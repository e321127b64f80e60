// exec: a program (keepalived's MISC_CHECK), up when it exits 0. It gets the
// destination as IPVSD_ADDRESS and IPVSD_PORT, its own process group and
// little else; at the timeout the whole group gets SIGKILL, so that nothing
// it started lives on. With weightFromOutput, its first line of stdout is
// the destination's weight (keepalived's misc_dynamic).
import { type ChildProcess, spawn } from 'node:child_process';
import { MAX_WEIGHT, type ProbeRequest, type ProbeResult } from '../probe.js';
import { deadline } from './deadline.js';
import { errorReason, started } from './outcome.js';

/** Enough for a first line; the rest of the output is not kept. */
const OUTPUT_BYTES = 4096;

/** The weight in the first line of `out`, or undefined. */
export function weightOf(out: string): number | undefined {
  const first = out.split('\n', 1)[0]!.trim();
  if (!/^\d{1,5}$/.test(first)) return undefined;
  const w = Number(first);
  return w <= MAX_WEIGHT ? w : undefined;
}

export function probeExec(r: ProbeRequest): Promise<ProbeResult> {
  const x = r.exec!;
  const finish = started(r.id);
  return new Promise((resolve) => {
    let done = false;
    let child: ChildProcess | undefined;
    const end = (ok: boolean, reason: string, weight?: number) => {
      if (done) return;
      done = true;
      cancel();
      resolve(finish(ok, reason, weight));
    };
    const chunks: Buffer[] = [];
    let size = 0;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const judge = () => {
      if (!exit) return;
      if (exit.code === null) return end(false, `killed by ${exit.signal}`);
      if (!x.weightFromOutput || exit.code !== 0) return end(exit.code === 0, `exit ${exit.code}`);
      const weight = weightOf(Buffer.concat(chunks).toString('latin1'));
      if (weight === undefined) return end(true, 'exit 0, output is not a weight');
      end(true, `exit 0, weight ${weight}`, weight);
    };
    const killGroup = () => {
      try {
        if (child?.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone, with all of its group.
      }
    };
    const cancel = deadline(r.timeoutMs, () => {
      killGroup();
      // Exited in time, but something it started still holds stdout: the exit counts.
      if (exit) judge();
      else end(false, 'killed after timeout');
    });
    try {
      child = spawn(x.path, x.args, {
        env: {
          PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          IPVSD_ADDRESS: r.address,
          IPVSD_PORT: String(r.port),
        },
        stdio: ['ignore', x.weightFromOutput ? 'pipe' : 'ignore', 'ignore'],
        detached: true,
      });
    } catch (err) {
      return end(false, errorReason(err));
    }
    child.stdout?.on('data', (chunk: Buffer) => {
      if (size < OUTPUT_BYTES) chunks.push(chunk);
      size += chunk.length;
    });
    child.on('error', (err) => end(false, errorReason(err)));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
    });
    child.on('close', judge);
  });
}
