// The clocks, read at most once per event-loop turn. In user-mode Linux a
// clock read is a system call (no vDSO, ~80 µs), and a thousand probes a
// second, each reading the clock a few times, cost more than the probes do.
// Everything in one turn (a chunk of result lines, the timers due together)
// sees the same instant; the cache is dropped when the turn ends.

let mono: number | undefined;
let wall: number | undefined;
let dropping = false;

const drop = () => {
  mono = undefined;
  wall = undefined;
  dropping = false;
};

function keepForThisTurn(): void {
  if (dropping) return;
  dropping = true;
  setImmediate(drop);
}

/** Monotonic milliseconds (performance.now), as of this turn. */
export function monoNow(): number {
  if (mono === undefined) {
    mono = performance.now();
    keepForThisTurn();
  }
  return mono;
}

/** Wall-clock milliseconds since the epoch (Date.now), as of this turn. */
export function wallNow(): number {
  if (wall === undefined) {
    wall = Date.now();
    keepForThisTurn();
  }
  return wall;
}

/** Both clocks, as a monitor reads them (a test gives fake timers' own). */
export interface Clock {
  mono(): number;
  wall(): number;
}

export const coarseClock: Clock = { mono: monoNow, wall: wallNow };
