// The clocks, read at most once per callback. In user-mode Linux a
// clock read is a system call (no vDSO, ~80 µs), and a thousand probes a
// second, each reading the clock a few times, cost more than the probes do.
// Everything one callback runs, with the promise jobs it sets off (a chunk of
// result lines, the timers due together), sees the same instant: the cache
// is dropped by a microtask, so it never outlives the callback that read it
// (an immediate would let it survive an idle wait when read from one).

let mono: number | undefined;
let wall: number | undefined;
let dropping = false;

const drop = () => {
  mono = undefined;
  wall = undefined;
  dropping = false;
};

function keepForThisCallback(): void {
  if (dropping) return;
  dropping = true;
  queueMicrotask(drop);
}

/** Monotonic milliseconds (performance.now), as of this callback. */
export function monoNow(): number {
  if (mono === undefined) {
    mono = performance.now();
    keepForThisCallback();
  }
  return mono;
}

/** Wall-clock milliseconds since the epoch (Date.now), as of this callback. */
export function wallNow(): number {
  if (wall === undefined) {
    wall = Date.now();
    keepForThisCallback();
  }
  return wall;
}

/** Both clocks, as a monitor reads them (a test gives fake timers' own). */
export interface Clock {
  mono(): number;
  wall(): number;
}

export const coarseClock: Clock = { mono: monoNow, wall: wallNow };
