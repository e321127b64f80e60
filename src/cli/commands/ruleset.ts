// The whole rule set at once, as ipvsadm shows and moves it: list (-L -n,
// with its views from views.ts), save (-S -n) and restore (-R), so that
// output and rule files are interchangeable with ipvsadm's.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { printConnections } from '../connection-format.js';
import { applyRules } from '../restore.js';
import { formatDestination, formatService, sortLikeIpvsadm } from '../rule-format.js';
import { parseRules } from '../rule-parse.js';
import { client, listAll, run } from './action.js';
import {
  addViewOptions,
  checkConnectionOptions,
  checkJson,
  listView,
  selectServices,
  type ViewOptions,
} from './views.js';

export function addList(program: Command): void {
  addViewOptions(
    program
      .command('list')
      .description("services and destinations, as ipvsadm -Ln shows them; ipvsadm's list options choose the view")
      .option('--json', 'JSON (64-bit counters as strings)')
      .option('-c, --connection', 'the connection table, as ipvsadm -Lnc shows it'),
  ).action(
    run(async (o: ViewOptions & { json?: boolean; connection?: boolean }) => {
      const { c, ns } = client(program);
      if (o.connection) {
        checkConnectionOptions(o);
        return printConnections(c, ns);
      }
      if (!o.json) {
        process.stdout.write(await listView(c, ns, o));
        return;
      }
      checkJson(o);
      const services = await selectServices(c, ns, o);
      process.stdout.write(
        `${JSON.stringify(services, (k, v) => (k === '$typeName' ? undefined : typeof v === 'bigint' ? String(v) : v), 2)}\n`,
      );
    }),
  );
}

export function addSave(program: Command): void {
  program
    .command('save')
    .description('the rules in ipvsadm -S -n format')
    .action(
      run(async () => {
        const { c, ns } = client(program);
        const services = await listAll(c, ns);
        const lines = sortLikeIpvsadm(services).flatMap(({ service, destinations }) => [
          formatService(service!),
          ...destinations.map((d) => formatDestination(service!.id!, d)),
        ]);
        process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
      }),
    );
}

export function addRestore(program: Command): void {
  program
    .command('restore')
    .description(
      'apply rules in ipvsadm -R format, from a file or standard input, any size; nothing is sent if any line is malformed',
    )
    .argument('[file]', 'rule file; standard input when left out or -')
    .action(
      run(async (file?: string) => {
        const text = readFileSync(file && file !== '-' ? file : 0, 'utf8');
        const rules = parseRules(text);
        const { c, ns } = client(program);
        const { applied, failed } = await applyRules(c, ns, rules);
        if (failed.length)
          throw new Error(
            `${failed.length} of ${rules.length} rules failed (${applied} applied):\n${failed.join('\n')}`,
          );
      }),
    );
}
