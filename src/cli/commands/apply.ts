// `ipvsctl apply -f FILE`: a declared state (an ApplyRequest as YAML or
// JSON) made real with only the needed changes, or planned as a diff with
// --dry-run. It runs through ApplyWithProgress, so that a large apply shows
// how far it has come and its result lists every change.
import type { MessageInitShape } from '@bufbuild/protobuf';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import type { ApplyProgress, ApplyRequestSchema, ApplyResponse, IpvsClient } from '../../client/index.js';
import { readApplyFile } from '../apply-file.js';
import type { CliIo } from '../io.js';
import { formatPlan, formatResult } from '../plan-format.js';
import type { Cli } from './action.js';

type ApplyRequestInit = MessageInitShape<typeof ApplyRequestSchema>;

export function addApply(cli: Cli): void {
  cli.program
    .command('apply')
    .description(
      'make the namespace what a file describes (an ApplyRequest in protobuf JSON, as YAML or JSON): only the needed changes',
    )
    .requiredOption('-f, --file <file>', 'the desired state; - for standard input')
    .option('--dry-run', 'print the plan as a diff; change nothing')
    .option('--prune', 'delete owned services and destinations the file does not list')
    .option('--drain', 'with --prune: weight 0 instead of deleting destinations')
    .option(
      '--drain-timeout <seconds>',
      'with --drain: delete drained destinations once idle, or after this many seconds',
    )
    .action(async (o: { file: string; dryRun?: boolean; prune?: boolean; drain?: boolean; drainTimeout?: string }) => {
      const req = (await readApplyFile(o.file, cli.io.stdin)).request;
      const { c, ns } = cli.client();
      const seconds = o.drainTimeout === undefined ? undefined : Number(o.drainTimeout);
      if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 0))
        throw new Error(`--drain-timeout: ${o.drainTimeout} is not a whole number of seconds`);
      const base = {
        ...req,
        namespace: ns,
        prune: o.prune ?? req.prune,
        drain: o.drain ?? req.drain,
        drainTimeout: seconds === undefined ? req.drainTimeout : durationFromMs(seconds * 1000),
      };
      if (o.dryRun) {
        const planned = await applyListed(c, { ...base, dryRun: true });
        cli.out(formatPlan(planned));
        return;
      }
      const bar = progress('applying', cli.io.stderr);
      let r: ApplyResponse | undefined;
      try {
        r = await applyListed(c, { ...base, dryRun: false }, (p) => bar.update(p.done, p.planned));
      } finally {
        bar.end(r ? r.applied + r.failed : undefined);
      }
      cli.out(formatResult(r));
      if (r.failed) throw new Error(`${r.failed} changes failed`);
    });
}

/**
 * An Apply through ApplyWithProgress, for its result: unlike unary Apply,
 * which leaves out what would pass the server's response limit, it lists
 * every change (in parts, which the client joins).
 */
async function applyListed(
  c: IpvsClient,
  apply: ApplyRequestInit,
  onProgress?: (p: ApplyProgress) => void,
): Promise<ApplyResponse> {
  let r: ApplyResponse | undefined;
  for await (const m of c.applyWithProgress({ apply })) {
    if (m.event.case === 'progress') onProgress?.(m.event.value);
    else if (m.event.case === 'result') r = m.event.value;
  }
  if (!r) throw new Error('the server ended the Apply without a result');
  return r;
}

/**
 * Progress of `what` on `stderr`: on a terminal, a bar redrawn in place; otherwise a
 * plain line at each tenth. `end(total)` closes it with the elapsed time.
 */
function progress(
  what: string,
  stderr: CliIo['stderr'],
): { update(done: number, planned: number): void; end(total?: number): void } {
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const width = 30;
  let tenth = -1;
  return {
    update(done, planned) {
      if (stderr.isTTY) {
        const filled = planned ? Math.round((done / planned) * width) : 0;
        stderr.write(`\r${what} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${planned} ${seconds()}`);
      } else if (planned && Math.floor((done / planned) * 10) > tenth) {
        tenth = Math.floor((done / planned) * 10);
        stderr.write(`${what}: ${done} of ${planned} changes done\n`);
      }
    },
    end(total) {
      const line = `${what}: ${total === undefined ? 'stopped' : `${total} changes`} in ${seconds()}`;
      stderr.write(stderr.isTTY ? `\r${line}${' '.repeat(width + 20)}\n` : `${line}\n`);
    },
  };
}
