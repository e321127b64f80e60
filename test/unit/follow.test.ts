// How a slow consumer follows the shared poller: always the newest tick,
// taken when told (a snapshot's objects change at the next tick), and told
// how many it missed.
import { describe, expect, it } from 'vitest';
import { follow, type StatsListener, type StatsSnapshot } from '../../src/server/stats-hub.js';

describe('follow', () => {
  it('hands a slow consumer the newest tick, taken when told, and how many it missed', async () => {
    let listener: StatsListener | undefined;
    const hub = {
      subscribe: (_ns: string, _ms: number, l: StatsListener) => {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
    };
    // One object for every tick, as a poller's mirror is: what a tick was must be taken when it is told.
    const live = { time: new Date(0), services: [], events: [] } as { time: Date } & StatsSnapshot;
    const tick = (n: number) => {
      live.time = new Date(n);
      listener!.next(live);
    };
    const taken: [number, boolean][] = [];
    const take = (s: StatsSnapshot, replacing: boolean) => {
      taken.push([s.time.getTime(), replacing]);
      return s.time.getTime();
    };
    const ac = new AbortController();
    const it = follow(hub, '', 100, ac.signal, take)[Symbol.asyncIterator]();
    const first = it.next();
    tick(1);
    expect((await first).value).toEqual({ value: 1, skipped: 0 });
    tick(2);
    tick(3);
    tick(4);
    expect((await it.next()).value).toEqual({ value: 4, skipped: 2 });
    expect(taken).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [4, true],
    ]);
    const pending = it.next();
    ac.abort(new Error('done'));
    await expect(pending).rejects.toThrow('done');
    expect(listener).toBeUndefined();
  });
});
