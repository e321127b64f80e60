// The benchmark's rule set: VIPs from 198.18.0.0/15, real servers from
// 203.0.113.0/24 (benchmark and documentation ranges only).
export const vip = (i: number) => `198.18.${i >> 8}.${i & 255}`;
export const rip = (j: number) => `203.0.113.${j + 1}`;

/** N services x D destinations as `ipvsadm -R` input; `weight(i)` for service i's destinations. */
export function ruleLines(services: number, dests: number, weight: (i: number) => number = () => 1): string {
  const lines: string[] = [];
  for (let i = 0; i < services; i++) {
    lines.push(`-A -t ${vip(i)}:80 -s wlc`);
    for (let j = 0; j < dests; j++) lines.push(`-a -t ${vip(i)}:80 -r ${rip(j)}:8080 -m -w ${weight(i)}`);
  }
  return `${lines.join('\n')}\n`;
}
