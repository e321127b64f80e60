// --max-watchers: the watcher over the most is refused RESOURCE_EXHAUSTED
// before it runs; a slot comes back when a watcher ends, however it ends.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/server/handler.js';
import { RpcError } from '../../src/server/status.js';
import { WatcherSlots } from '../../src/server/watchers.js';

const ctx: CallContext = { signal: new AbortController().signal, log: pino({ level: 'silent' }), note: () => {} };

describe('WatcherSlots', () => {
  it('refuses one over the most, and takes one again when a watcher ends or fails', async () => {
    const slots = new WatcherSlots(2);
    const ends: (() => void)[] = [];
    let runs = 0;
    const watch = slots.limit('WatchStats', async (fail: boolean) => {
      runs++;
      await new Promise<void>((resolve) => ends.push(resolve));
      if (fail) throw new Error('poller failed');
    });
    const a = watch(false, async () => {}, ctx);
    const b = watch(true, async () => {}, ctx);
    expect(slots.size).toBe(2);
    const refused = await watch(false, async () => {}, ctx).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RpcError);
    expect(refused).toMatchObject({
      code: 8,
      message: 'WatchStats: the server has 2 watchers open, its most (--max-watchers); try again when one ends',
    });
    expect(runs).toBe(2);
    ends[1]!();
    await expect(b).rejects.toThrow('poller failed');
    expect(slots.size).toBe(1);
    const c = watch(false, async () => {}, ctx);
    expect(slots.size).toBe(2);
    ends[0]!();
    ends[2]!();
    await Promise.all([a, c]);
    expect(slots.size).toBe(0);
  });
});
