// `ipvsctl health NAME`: the health of a desired state's checked
// destinations, every page of ListDestinationHealth, as a table or JSON.
import { toJson } from '@bufbuild/protobuf';
import { DestinationHealthSchema, type DestinationHealth } from '../../client/index.js';
import { formatHealth } from '../health-format.js';
import { type Cli, jsonText } from './action.js';

export function addHealth(cli: Cli): void {
  cli.program
    .command('health')
    .description("a desired state's checked destinations: up or down, since when, weight, last probe")
    .argument('<name>', 'web or desiredStates/web')
    .option('--json', 'protobuf JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      const { c } = cli.client();
      const parent = id.startsWith('desiredStates/') ? id : `desiredStates/${id}`;
      const rows: DestinationHealth[] = [];
      for await (const d of c.listAllDestinationHealth({ parent })) rows.push(d);
      cli.out(o.json ? jsonText(rows.map((d) => toJson(DestinationHealthSchema, d))) : formatHealth(rows));
    });
}
