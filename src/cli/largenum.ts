// ipvsadm's counter cell (print_largenum): nine characters, right-aligned,
// a number of 100 million or more cut to whole thousands (K), millions (M),
// billions (G) or trillions (T), so that a column keeps its width; --exact
// prints every digit and widens the cell instead. Scaling floors, as
// ipvsadm's integer division does: 999,999,999 is "999999K".

const SCALES: [limit: bigint, divisor: bigint, unit: string][] = [
  [1_000_000_000n, 1_000n, 'K'],
  [100_000_000_000n, 1_000_000n, 'M'],
  [100_000_000_000_000n, 1_000_000_000n, 'G'],
];

/** One counter as ipvsadm prints it in --stats and --rate: a leading space, then at least eight characters. */
export function largenum(n: bigint, exact: boolean): string {
  if (exact || n < 100_000_000n) return ` ${String(n).padStart(8)}`;
  for (const [limit, divisor, unit] of SCALES) if (n < limit) return `${String(n / divisor).padStart(8)}${unit}`;
  return `${String(n / 1_000_000_000_000n).padStart(8)}T`;
}
