// ipvsctl: the command line of ipvsd. Service and destination options are
// ipvsadm's own (`ipvsctl add-service -t 192.0.2.1:80 -s rr` is
// `ipvsadm -A -t 192.0.2.1:80 -s rr`), and save/restore speak ipvsadm's
// -S/-R format, so habits and rule files carry over. This file is the
// program's assembly, afresh for each run: its global options, then the
// commands from their rooms (commands/), in the order help lists them.
import { Command, Option } from 'commander';
import { Cli } from './commands/action.js';
import { addAddress } from './commands/address.js';
import { addApply } from './commands/apply.js';
import { addDesired } from './commands/desired.js';
import { addHealth } from './commands/health.js';
import { addRuleCommands } from './commands/rules.js';
import { addList, addRestore, addSave } from './commands/ruleset.js';
import { addConfig, addFlush, addInfo, addZero } from './commands/system.js';
import { addSysctl } from './commands/sysctl.js';
import { addWatch } from './commands/watch.js';
import type { CliIo } from './io.js';

export function createProgram(io: CliIo): Cli {
  const program = new Command('ipvsctl')
    .description('Control Linux IPVS through ipvsd')
    // Before any command is added: commands take these two from their parent when created.
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // As commander's own: a terminal's width, else none (its type says number; its default returns undefined too).
      getOutHelpWidth: () => (io.stdout.isTTY ? io.stdout.columns : undefined) as number,
      getErrHelpWidth: () => (io.stderr.isTTY ? io.stderr.columns : undefined) as number,
    })
    // Commander's errors, --help included, are thrown (as CommanderError, its exit code in it) rather than exiting.
    .exitOverride()
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

  // Commander reads .env() from process.env; a run's environment is io.env (the binary's is process.env), which
  // fills in what the command line left out.
  program.hook('preAction', () => {
    for (const o of program.options) {
      const key = o.attributeName();
      if (!o.envVar || program.getOptionValueSource(key) === 'cli') continue;
      const value = io.env[o.envVar];
      if (value === undefined) program.setOptionValueWithSource(key, o.defaultValue, 'default');
      else program.setOptionValueWithSource(key, value, 'env');
    }
  });

  const cli = new Cli(program, io);
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
    add(cli);
  return cli;
}
