// Sending parsed ipvsadm rules (restore, zero) in file order, one call after
// another: flush and zero on their own, runs of writes as Batches of at most
// BATCH_LIMIT operations. A server refuses a Batch over its --max-batch
// (10000 by default, so that a response of all failures stays under 4 MiB),
// and a rule file can be any size.
import { status } from '@grpc/grpc-js';
import { IpvsError, type IpvsClient } from '../client/index.js';
import type { Rule } from './rule-parse.js';

/** Operations per Batch: half the server's default --max-batch. */
export const BATCH_LIMIT = 5000;

type Write = Rule & { kind: 'batch' };
type Step = Exclude<Rule, Write> | Write[];

/** The calls that send `rules`, in order. */
function steps(rules: readonly Rule[]): Step[] {
  const out: Step[] = [];
  for (const r of rules) {
    const last = out.at(-1);
    if (r.kind !== 'batch') out.push(r);
    else if (Array.isArray(last) && last.length < BATCH_LIMIT) last.push(r);
    else out.push([r]);
  }
  return out;
}

export interface Applied {
  /** Rules applied, over every call. */
  applied: number;
  /** "line N: reason" of each rule the kernel refused, in file order. */
  failed: string[];
}

/**
 * Sends `rules`. A rule the kernel refuses is reported and the rest go on.
 * A call refused as a whole stops there. Once rules went before it, its
 * error says how many were applied (they stay so) and which were refused;
 * and it names the line of an operation the server's error points at.
 */
export async function applyRules(
  c: Pick<IpvsClient, 'batch' | 'flush' | 'zeroCounters'>,
  ns: string,
  rules: readonly Rule[],
): Promise<Applied> {
  let applied = 0;
  const failed: string[] = [];
  for (const step of steps(rules)) {
    try {
      if (Array.isArray(step)) {
        const res = await c.batch({ namespace: ns, operations: step.map((x) => x.op) });
        applied += res.applied;
        res.results.forEach((x, j) => {
          if (x.code) failed.push(`line ${step[j]!.line}: ${x.message}`);
        });
      } else {
        await (step.kind === 'flush'
          ? c.flush({ namespace: ns })
          : c.zeroCounters({ namespace: ns, service: step.service }));
        applied++;
      }
    } catch (e) {
      const sent = Array.isArray(step) ? step : [step];
      const op = e instanceof IpvsError ? /^operations\[(\d+)\]/.exec(e.field ?? '') : null;
      if (!(e instanceof IpvsError) || (!applied && !failed.length && !op)) throw e;
      const line = (op ? sent[Number(op[1])] : undefined)?.line ?? sent[0]!.line;
      const refused = failed.length ? ` (${failed.length} refused):\n${failed.join('\n')}` : '';
      throw new Error(
        `line ${line}: ${e.details} (${status[e.code]}); stopped there, ${applied} rules applied before it${refused}`,
      );
    }
  }
  return { applied, failed };
}
