// The whole rule set at once, as ipvsadm shows and moves it: list (-L -n,
// with its views from views.ts), save (-S -n) and restore (-R), so that
// output and rule files are interchangeable with ipvsadm's.
import { readFileSync } from 'node:fs';
import { printConnections } from '../connection-format.js';
import { readAll } from '../io.js';
import { applyRules } from '../restore.js';
import { formatDestination, formatService, sortLikeIpvsadm } from '../rule-format.js';
import { parseRules } from '../rule-parse.js';
import { type Cli, listAll } from './action.js';
import {
  addViewOptions,
  checkConnectionOptions,
  checkJson,
  listView,
  selectServices,
  type ViewOptions,
} from './views.js';

export function addList(cli: Cli): void {
  addViewOptions(
    cli.program
      .command('list')
      .description("services and destinations, as ipvsadm -Ln shows them; ipvsadm's list options choose the view")
      .option('--json', 'JSON (64-bit counters as strings)')
      .option('-c, --connection', 'the connection table, as ipvsadm -Lnc shows it'),
  ).action(async (o: ViewOptions & { json?: boolean; connection?: boolean }) => {
    const { c, ns } = cli.client();
    if (o.connection) {
      checkConnectionOptions(o);
      return printConnections(c, ns, (text) => cli.out(text));
    }
    if (!o.json) {
      cli.out(await listView(c, ns, o));
      return;
    }
    checkJson(o);
    const services = await selectServices(c, ns, o);
    cli.out(
      `${JSON.stringify(services, (k, v) => (k === '$typeName' ? undefined : typeof v === 'bigint' ? String(v) : v), 2)}\n`,
    );
  });
}

export function addSave(cli: Cli): void {
  cli.program
    .command('save')
    .description('the rules in ipvsadm -S -n format')
    .action(async () => {
      const { c, ns } = cli.client();
      const services = await listAll(c, ns);
      const lines = sortLikeIpvsadm(services).flatMap(({ service, destinations }) => [
        formatService(service!),
        ...destinations.map((d) => formatDestination(service!.id!, d)),
      ]);
      cli.out(lines.length ? `${lines.join('\n')}\n` : '');
    });
}

export function addRestore(cli: Cli): void {
  cli.program
    .command('restore')
    .description(
      'apply rules in ipvsadm -R format, from a file or standard input, any size; nothing is sent if any line is malformed',
    )
    .argument('[file]', 'rule file; standard input when left out or -')
    .action(async (file?: string) => {
      const text = file && file !== '-' ? readFileSync(file, 'utf8') : await readAll(cli.io.stdin);
      const rules = parseRules(text);
      const { c, ns } = cli.client();
      const { applied, failed } = await applyRules(c, ns, rules);
      if (failed.length)
        throw new Error(`${failed.length} of ${rules.length} rules failed (${applied} applied):\n${failed.join('\n')}`);
    });
}
