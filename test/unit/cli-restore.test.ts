// ipvsctl restore sends a rule file of any size: runs of writes in Batches
// of at most 5000 operations (under the server's --max-batch), in file
// order, one after another; flush and zero on their own. The client here is
// a recorder of calls: what is under test is the chunking and its counts.
import { create } from '@bufbuild/protobuf';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  BatchResponseSchema,
  FlushResponseSchema,
  IpvsError,
  ZeroCountersResponseSchema,
  type BatchOperation,
  type IpvsClient,
} from '../../src/client/index.js';
import { applyRules, BATCH_LIMIT } from '../../src/cli/restore.js';
import { parseRules } from '../../src/cli/rule-parse.js';
import { ErrorTrailer } from '../../src/rpc/definition.js';

type Sender = Pick<IpvsClient, 'batch' | 'flush' | 'zeroCounters'>;

/**
 * A client that records its calls and the writes sent. `batch` refuses the
 * writes `refuses` picks (by their place among all writes sent), or throws
 * what `batchFails` returns for the nth Batch.
 */
function recorder(
  refuses: (n: number) => boolean = () => false,
  batchFails: (n: number) => Error | undefined = () => undefined,
) {
  const calls: string[] = [];
  const sent: BatchOperation[] = [];
  const c: Sender = {
    batch: async (req) => {
      const e = batchFails(calls.filter((x) => x.startsWith('batch')).length);
      calls.push(`batch ${req?.operations?.length}`);
      if (e) throw e;
      const results = (req?.operations ?? []).map((op) => {
        const refused = refuses(sent.push(op as BatchOperation) - 1);
        return refused ? { code: status.ALREADY_EXISTS, errno: 'EEXIST', message: 'newDestination: EEXIST' } : {};
      });
      return create(BatchResponseSchema, { results, applied: results.filter((r) => !r.code).length });
    },
    flush: async () => {
      calls.push('flush');
      return create(FlushResponseSchema);
    },
    zeroCounters: async () => {
      calls.push('zero');
      return create(ZeroCountersResponseSchema);
    },
  };
  return { c, calls, sent };
}

/** A rule file: a comment, one service, then `n` destinations of it (the destination k on line k + 2). */
function ruleFile(n: number): string {
  const dests = Array.from(
    { length: n },
    (_, k) => `-a -t 192.0.2.1:80 -r 10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}:80 -m -w 1`,
  );
  return ['# saved by ipvsadm -S -n', '-A -t 192.0.2.1:80 -s rr', ...dests].join('\n');
}

describe('ipvsctl restore', () => {
  it(`sends a run of writes as Batches of at most ${BATCH_LIMIT}, in file order`, async () => {
    const rules = parseRules(ruleFile(12_000));
    const { c, calls, sent } = recorder();
    expect(await applyRules(c, '', rules)).toEqual({ applied: 12_001, failed: [] });
    expect(calls).toEqual(['batch 5000', 'batch 5000', 'batch 2001']);
    expect(sent).toEqual(rules.map((r) => r.kind === 'batch' && r.op));
  });

  it('sends flush and zero on their own, between the runs of writes around them', async () => {
    const rules = parseRules(`${ruleFile(2)}\n-C\n${ruleFile(BATCH_LIMIT)}\n-Z -t 192.0.2.1:80\n`);
    const { c, calls } = recorder();
    expect((await applyRules(c, '', rules)).applied).toBe(3 + 1 + BATCH_LIMIT + 1 + 1);
    expect(calls).toEqual(['batch 3', 'flush', `batch ${BATCH_LIMIT}`, 'batch 1', 'zero']);
  });

  it('counts what was applied over every Batch and names the line of each refused rule', async () => {
    const { c } = recorder((n) => n % 4000 === 3999);
    expect(await applyRules(c, '', parseRules(ruleFile(12_000)))).toEqual({
      applied: 12_001 - 3,
      failed: [4001, 8001, 12_001].map((k) => `line ${k}: newDestination: EEXIST`), // write n is on line n + 2
    });
  });

  it('stops at a Batch refused as a whole, saying how much was applied before it and which line was refused', async () => {
    const metadata = new Metadata();
    metadata.set(ErrorTrailer.field, 'operations[7].create_destination.destination.weight');
    const refused = new IpvsError({ code: status.INVALID_ARGUMENT, details: 'weight out of range', metadata });
    const { c, calls } = recorder(
      (n) => n === 10,
      (n) => (n === 1 ? refused : undefined),
    );
    await expect(applyRules(c, '', parseRules(ruleFile(12_000)))).rejects.toThrow(
      'line 5009: weight out of range (INVALID_ARGUMENT); stopped there, 4999 rules applied before it (1 refused):\n' +
        'line 12: newDestination: EEXIST',
    );
    expect(calls).toEqual(['batch 5000', 'batch 5000']);
  });

  it('keeps the status of a call refused before anything was applied', async () => {
    const down = new IpvsError({ code: status.UNAVAILABLE, details: 'connection refused' });
    const { c } = recorder(undefined, () => down);
    await expect(applyRules(c, '', parseRules(ruleFile(1)))).rejects.toBe(down);
  });
});
