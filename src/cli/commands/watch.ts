// `ipvsctl watch`'s options, turned into the live view's (../watch.ts):
// seconds on the command line, milliseconds underneath.
import { watch } from '../watch.js';
import type { Cli } from './action.js';

export function addWatch(cli: Cli): void {
  cli.program
    .command('watch')
    .description('a live table of rates per service and destination, with sparklines')
    .option('--interval <seconds>', 'between snapshots (below 2 needs --fast)', '2')
    .option('--fast', "allow intervals below the kernel's 2 s estimator period")
    .option('--count <n>', 'stop after n snapshots', '0')
    .option('--health <desired-state>', "each destination's health in that desired state (web or desiredStates/web)")
    .action(async (o: { interval: string; fast?: boolean; count: string; health?: string }) => {
      const { c, ns } = cli.client();
      await watch(
        c,
        {
          namespace: ns,
          intervalMs: Math.round(Number(o.interval) * 1000),
          fast: !!o.fast,
          count: Number(o.count),
          health: o.health,
        },
        cli.io,
      );
    });
}
