// The single-rule commands (add-service … del-dest): ipvsadm's own options,
// each sent through its own RPC rather than a Batch, so that a refusal
// keeps its gRPC status and field.
import type { BatchOperation, IpvsClient } from '../../client/index.js';
import { parseRuleArgs } from '../rule-parse.js';
import { type Cli, ipvsadmCommand } from './action.js';

const RULE_COMMANDS: [string, string, string][] = [
  [
    'add-service',
    '-A',
    'add a virtual service (ipvsadm -A options: -t|-u|--sctp-service ADDR:PORT | -f MARK [-6], -s, -p, -M, -b, --pe, -o)',
  ],
  ['edit-service', '-E', "replace a service's options (ipvsadm -E options)"],
  ['del-service', '-D', 'delete a service and its destinations (ipvsadm -D options)'],
  ['add-dest', '-a', 'add a destination (ipvsadm -a options: service, -r ADDR[:PORT], -g|-i|-m, -w, -x, -y, --tun-*)'],
  ['edit-dest', '-e', "replace a destination's options (ipvsadm -e options)"],
  ['del-dest', '-d', 'delete a destination (ipvsadm -d options)'],
];

/** One write through its own RPC, so that a failure keeps its status. */
async function applyOne(c: IpvsClient, ns: string, op: BatchOperation): Promise<void> {
  const v = op.operation;
  switch (v.case) {
    case 'createService':
      await c.createService({ namespace: ns, service: v.value });
      break;
    case 'updateService':
      await c.updateService({ namespace: ns, service: v.value });
      break;
    case 'deleteService':
      await c.deleteService({ namespace: ns, service: v.value });
      break;
    case 'createDestination':
      await c.createDestination({ namespace: ns, service: v.value.service, destination: v.value.destination });
      break;
    case 'updateDestination':
      await c.updateDestination({ namespace: ns, service: v.value.service, destination: v.value.destination });
      break;
    case 'deleteDestination':
      await c.deleteDestination({ namespace: ns, service: v.value.service, destination: v.value.destination });
      break;
    default:
      throw new Error('no operation');
  }
}

export function addRuleCommands(cli: Cli): void {
  for (const [name, flag, description] of RULE_COMMANDS) {
    ipvsadmCommand(cli.program, name, description).action(async (args: string[]) => {
      const rule = parseRuleArgs([flag, ...args]);
      if (rule?.kind !== 'batch') throw new Error(`${name} needs a service`);
      const { c, ns } = cli.client();
      await applyOne(c, ns, rule.op);
    });
  }
}
