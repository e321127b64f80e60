// --max-watchers: WatchStats and WatchEvents streams, all clients together.
// Each holds a subscription to a poller and a tick in waiting (watch.ts), so
// their number is what bounds that memory; the streams per connection
// (--max-concurrent-streams) bound one connection, not many. One over the
// limit is refused at once, before it subscribes: the others are untouched.
import { status } from '@grpc/grpc-js';
import type { StreamFn } from './handler.js';
import { RpcError } from './status.js';

export class WatcherSlots {
  private taken = 0;

  constructor(readonly max: number) {}

  /** Watchers open now. */
  get size(): number {
    return this.taken;
  }

  /** `fn` holding a slot while it runs; RESOURCE_EXHAUSTED when none is free. */
  limit<Req, Res>(method: string, fn: StreamFn<Req, Res>): StreamFn<Req, Res> {
    return async (req, send, ctx) => {
      if (this.taken >= this.max) {
        throw new RpcError(
          status.RESOURCE_EXHAUSTED,
          `${method}: the server has ${this.max} watchers open, its most (--max-watchers); try again when one ends`,
        );
      }
      this.taken++;
      try {
        return await fn(req, send, ctx);
      } finally {
        this.taken--;
      }
    };
  }
}
