// `ipvsctl health NAME`: the health of a desired state's checked
// destinations, every page of ListDestinationHealth, as a table or JSON.
import { toJson } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { DestinationHealthSchema, type DestinationHealth } from '../../client/index.js';
import { formatHealth } from '../health-format.js';
import { client, run } from './action.js';

export function addHealth(program: Command): void {
  program
    .command('health')
    .description("a desired state's checked destinations: up or down, since when, weight, last probe")
    .argument('<name>', 'web or desiredStates/web')
    .option('--json', 'protobuf JSON')
    .action(
      run(async (id: string, o: { json?: boolean }) => {
        const { c } = client(program);
        const parent = id.startsWith('desiredStates/') ? id : `desiredStates/${id}`;
        const rows: DestinationHealth[] = [];
        for await (const d of c.listAllDestinationHealth({ parent })) rows.push(d);
        process.stdout.write(
          o.json
            ? `${JSON.stringify(
                rows.map((d) => toJson(DestinationHealthSchema, d)),
                null,
                2,
              )}\n`
            : formatHealth(rows),
        );
      }),
    );
}
