// Watches that outlive a server restart. grpc-js retries a unary read by the
// service config (gen/ts/ipvs/v1/service_config.ts), but a stream that has
// delivered messages is committed: gRPC never retries it. A WatchStats or
// WatchEvents stream only reads, so when it breaks with UNAVAILABLE (the
// server restarting, a connection lost) the client's iterator subscribes
// again with the same request, backing off as the service config's reads do.
// A watch that never delivered anything fails as any call does, at once: a
// server that is not there is reported, not waited for.
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { defaultServiceConfig } from '../../gen/ts/ipvs/v1/service_config.js';
import { IpvsError } from './error.js';

/** How a broken watch subscribes again. */
export interface Backoff {
  /** Re-subscriptions in a row that deliver nothing before the watch gives up (and throws UNAVAILABLE). */
  attempts: number;
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

/** "0.2s", as the service config spells a duration, in milliseconds. */
const ms = (d: string) => Number(d.replace(/s$/, '')) * 1000;
const retry = defaultServiceConfig.methodConfig[0]!.retryPolicy;

/**
 * The reads' retry policy of the service config, for watches too: 5
 * re-subscriptions in a row after waiting 0.2 s, 0.4 s, 0.8 s, 1.6 s and
 * 3.2 s (each ±20%, at most 5 s), so a watch gives up about 6 s after it
 * broke when none delivered anything. One that delivers starts the count
 * again: a long watch survives any number of restarts far enough apart.
 */
export const resubscribeBackoff: Backoff = {
  attempts: retry.maxAttempts,
  initialMs: ms(retry.initialBackoff),
  maxMs: ms(retry.maxBackoff),
  multiplier: retry.backoffMultiplier,
};

interface Options {
  signal?: AbortSignal;
  deadline?: number | Date;
}

/**
 * The messages of `open(opts)`, opening it again when it breaks with
 * UNAVAILABLE after having delivered. A deadline counts from the first
 * subscription, not each; an abort ends the iteration quietly, while
 * waiting too. Each new stream starts as a new watch does (WatchEvents with
 * a resync of the whole state): what happened in between is not lost silently.
 */
export async function* resubscribing<M, O extends Options>(
  open: (opts: O) => AsyncIterable<M>,
  opts: O,
  b: Backoff = resubscribeBackoff,
): AsyncGenerator<M> {
  const o = {
    ...opts,
    deadline: typeof opts.deadline === 'number' ? new Date(Date.now() + opts.deadline) : opts.deadline,
  };
  let delivered = false;
  let failed = 0; // re-subscriptions since a stream last delivered
  for (;;) {
    try {
      for await (const m of open(o)) {
        delivered = true;
        failed = 0;
        yield m;
      }
      return; // the server ended the stream (or our abort did): so ends the watch
    } catch (e) {
      if (!(e instanceof IpvsError) || e.code !== status.UNAVAILABLE || !delivered || failed >= b.attempts) throw e;
    }
    const wait = Math.min(b.initialMs * b.multiplier ** failed, b.maxMs) * (0.8 + 0.4 * Math.random());
    failed++;
    try {
      await sleep(wait, undefined, { signal: o.signal });
    } catch {
      return; // aborted while waiting
    }
  }
}
