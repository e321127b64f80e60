// The whole rule set at once, as ipvsadm shows and moves it: list (-Ln),
// save (-S -n) and restore (-R), so that output and rule files are
// interchangeable with ipvsadm's.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { IpvsClient, ServiceWithDestinations } from '../../client/index.js';
import { printConnections } from '../connection-format.js';
import { applyRules } from '../restore.js';
import { formatDestination, formatService, sortLikeIpvsadm } from '../rule-format.js';
import { parseRules } from '../rule-parse.js';
import { listTable } from '../table.js';
import { client, run } from './action.js';

/** Every service with its destinations, over all pages. */
async function listAll(c: IpvsClient, ns: string): Promise<ServiceWithDestinations[]> {
  const out: ServiceWithDestinations[] = [];
  for await (const s of c.listAllServices({ namespace: ns, includeDestinations: true })) out.push(s);
  return out;
}

export function addList(program: Command): void {
  program
    .command('list')
    .description('services and destinations, as ipvsadm -Ln shows them')
    .option('--json', 'JSON (64-bit counters as strings)')
    .option('-c, --connection', 'the connection table, as ipvsadm -Lnc shows it')
    .action(
      run(async (o: { json?: boolean; connection?: boolean }) => {
        const { c, ns } = client(program);
        if (o.connection) return printConnections(c, ns);
        const services = await listAll(c, ns);
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify(services, (k, v) => (k === '$typeName' ? undefined : typeof v === 'bigint' ? String(v) : v), 2)}\n`,
          );
        } else {
          const { info } = await c.getInfo({ namespace: ns });
          process.stdout.write(
            `IP Virtual Server version ${info?.version} (size=${info?.connectionTableSize})\n${listTable(sortLikeIpvsadm(services))}`,
          );
        }
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
