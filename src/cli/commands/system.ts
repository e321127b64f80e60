// The namespace as a whole rather than one rule: flush (ipvsadm -C), zero
// (-Z, counters), config (--set, connection timeouts) and info (version and
// connection table size).
import type { Command } from 'commander';
import { applyRules } from '../restore.js';
import { parseRuleArgs } from '../rule-parse.js';
import { formatTimeout, formatVersion } from '../view-format.js';
import { client, ipvsadmCommand, run } from './action.js';

export function addFlush(program: Command): void {
  program
    .command('flush')
    .description('delete every service')
    .action(
      run(async () => {
        const { c, ns } = client(program);
        await c.flush({ namespace: ns });
      }),
    );
}

export function addZero(program: Command): void {
  ipvsadmCommand(program, 'zero', 'zero the counters of one service (ipvsadm service options), or of all').action(
    run(async (args: string[]) => {
      const { c, ns } = client(program);
      await applyRules(c, ns, [parseRuleArgs(['-Z', ...args])!]);
    }),
  );
}

export function addConfig(program: Command): void {
  program
    .command('config')
    .description('show the connection timeouts, or set them (seconds; 0 leaves one unchanged)')
    .option('--set <tcp tcpfin udp...>', 'as ipvsadm --set')
    .action(
      run(async (o: { set?: string[] }) => {
        const { c, ns } = client(program);
        if (o.set) {
          const [tcp, fin, udp] = o.set.map((v) => {
            if (!/^\d+$/.test(v)) throw new Error(`--set: ${JSON.stringify(v)} is not a number of seconds`);
            return Number(v);
          });
          if (o.set.length !== 3) throw new Error('--set needs three values: tcp tcpfin udp');
          await c.setConfig({ namespace: ns, config: { timeoutTcp: tcp, timeoutTcpFin: fin, timeoutUdp: udp } });
        }
        const { config } = await c.getConfig({ namespace: ns });
        process.stdout.write(formatTimeout(config));
      }),
    );
}

export function addInfo(program: Command): void {
  program
    .command('info')
    .description('IPVS version and connection table size')
    .action(
      run(async () => {
        const { c, ns } = client(program);
        const { info } = await c.getInfo({ namespace: ns });
        process.stdout.write(formatVersion(info));
      }),
    );
}
