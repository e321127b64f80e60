// The namespace as a whole rather than one rule: flush (ipvsadm -C), zero
// (-Z, counters), config (--set, connection timeouts) and info (version and
// connection table size).
import { applyRules } from '../restore.js';
import { parseRuleArgs } from '../rule-parse.js';
import { formatTimeout, formatVersion } from '../view-format.js';
import { type Cli, ipvsadmCommand } from './action.js';

export function addFlush(cli: Cli): void {
  cli.program
    .command('flush')
    .description('delete every service')
    .action(async () => {
      const { c, ns } = cli.client();
      await c.flush({ namespace: ns });
    });
}

export function addZero(cli: Cli): void {
  ipvsadmCommand(cli.program, 'zero', 'zero the counters of one service (ipvsadm service options), or of all').action(
    async (args: string[]) => {
      const { c, ns } = cli.client();
      await applyRules(c, ns, [parseRuleArgs(['-Z', ...args])!]);
    },
  );
}

export function addConfig(cli: Cli): void {
  cli.program
    .command('config')
    .description('show the connection timeouts, or set them (seconds; 0 leaves one unchanged)')
    .option('--set <tcp tcpfin udp...>', 'as ipvsadm --set')
    .action(async (o: { set?: string[] }) => {
      const { c, ns } = cli.client();
      if (o.set) {
        const [tcp, fin, udp] = o.set.map((v) => {
          if (!/^\d+$/.test(v)) throw new Error(`--set: ${JSON.stringify(v)} is not a number of seconds`);
          return Number(v);
        });
        if (o.set.length !== 3) throw new Error('--set needs three values: tcp tcpfin udp');
        await c.setConfig({ namespace: ns, config: { timeoutTcp: tcp, timeoutTcpFin: fin, timeoutUdp: udp } });
      }
      const { config } = await c.getConfig({ namespace: ns });
      cli.out(formatTimeout(config));
    });
}

export function addInfo(cli: Cli): void {
  cli.program
    .command('info')
    .description('IPVS version and connection table size')
    .action(async () => {
      const { c, ns } = cli.client();
      const { info } = await c.getInfo({ namespace: ns });
      cli.out(formatVersion(info));
    });
}
