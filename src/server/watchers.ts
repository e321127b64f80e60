// --max-watchers: WatchStats, WatchEvents and health's Watch streams, all
// clients together. Each holds a subscription (to a poller and a tick in
// waiting, watch.ts; or to health's status) for as long as its client likes,
// so their number is what bounds that memory; the streams per connection
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

  /** A slot for a watcher of `method`, and the function that gives it back (once); RESOURCE_EXHAUSTED when none is free. */
  take(method: string): () => void {
    if (this.taken >= this.max) {
      throw new RpcError(
        status.RESOURCE_EXHAUSTED,
        `${method}: the server has ${this.max} watchers open, its most (--max-watchers); try again when one ends`,
      );
    }
    this.taken++;
    let held = true;
    return () => {
      if (held) this.taken--;
      held = false;
    };
  }

  /** `fn` holding a slot while it runs. */
  limit<Req, Res>(method: string, fn: StreamFn<Req, Res>): StreamFn<Req, Res> {
    return async (req, send, ctx) => {
      const release = this.take(method);
      try {
        return await fn(req, send, ctx);
      } finally {
        release();
      }
    };
  }
}
