// ipvsctl: the command line of ipvsd. Service and destination options are
// ipvsadm's own (`ipvsctl add-service -t 192.0.2.1:80 -s rr` is
// `ipvsadm -A -t 192.0.2.1:80 -s rr`), and save/restore speak ipvsadm's
// -S/-R format, so habits and rule files carry over. This file is the
// program's assembly: its global options, then the commands from their
// rooms (commands/), in the order help lists them.
import { Command, Option } from 'commander';
import { addAddress } from './commands/address.js';
import { addApply } from './commands/apply.js';
import { addDesired } from './commands/desired.js';
import { addHealth } from './commands/health.js';
import { addRuleCommands } from './commands/rules.js';
import { addList, addRestore, addSave } from './commands/ruleset.js';
import { addConfig, addFlush, addInfo, addZero } from './commands/system.js';
import { addSysctl } from './commands/sysctl.js';
import { addWatch } from './commands/watch.js';
import { RuleError } from './rule-parse.js';

const program = new Command('ipvsctl')
  .description('Control Linux IPVS through ipvsd')
  .addOption(
    new Option('--addr <address>', 'ipvsd address: host:port or unix:/path')
      .env('IPVSD_ADDR')
      .default('127.0.0.1:50051'),
  )
  .addOption(
    new Option('--netns <namespace>', 'network namespace (name under /run/netns or a path)')
      .env('IPVSD_NETNS')
      .default(''),
  )
  .option('--tls-ca <file>', 'CA of the server certificate: use TLS')
  .option('--tls-cert <file>', 'client certificate (mutual TLS)')
  .option('--tls-key <file>', 'client key (mutual TLS)')
  .showHelpAfterError();

for (const add of [
  addRuleCommands,
  addList,
  addFlush,
  addZero,
  addConfig,
  addSysctl,
  addInfo,
  addWatch,
  addSave,
  addRestore,
  addApply,
  addDesired,
  addHealth,
  addAddress,
])
  add(program);

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`ipvsctl: ${e instanceof RuleError ? e.message : String(e)}\n`);
  process.exit(1);
});
