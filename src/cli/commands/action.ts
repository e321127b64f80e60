// What every command's action shares: the connection its global options
// name, the whole listing, and one way to end, so that every failure reads the same (the
// kernel's reason, when it is one) and no output is cut off.
import { readFileSync } from 'node:fs';
import { credentials, status } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { connectIpvs, IpvsError, type IpvsClient, type ServiceWithDestinations } from '../../client/index.js';

/** The program's global options (main.ts defines them). */
interface Globals {
  addr: string;
  netns: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** A client for the server and namespace the global options name. */
export function client(program: Command): { c: IpvsClient; ns: string } {
  const g = program.opts<Globals>();
  const creds = g.tlsCa
    ? credentials.createSsl(
        readFileSync(g.tlsCa),
        g.tlsKey ? readFileSync(g.tlsKey) : null,
        g.tlsCert ? readFileSync(g.tlsCert) : null,
      )
    : undefined;
  return { c: connectIpvs(g.addr, { credentials: creds }), ns: g.netns };
}

/** Exits once what was written has left: stdout to a pipe is asynchronous, and exit() would cut it off. */
export async function exit(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', r))));
  process.exit(code);
}

/** Runs an action; any failure prints the reason (the kernel's, when it is one) and exits 1. */
export function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
      await exit(0);
    } catch (e) {
      if (e instanceof IpvsError) {
        process.stderr.write(`ipvsctl: ${e.details} (${status[e.code]}${e.field ? `, field ${e.field}` : ''})\n`);
      } else {
        process.stderr.write(`ipvsctl: ${(e as Error).message}\n`);
      }
      await exit(1);
    }
  };
}

/** A command that takes ipvsadm's own options, passed through unparsed to parseRuleArgs (its --help included). */
export const ipvsadmCommand = (program: Command, name: string, description: string): Command =>
  program
    .command(name)
    .description(description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]');

/** Every service with its destinations, over all pages. */
export async function listAll(c: IpvsClient, ns: string): Promise<ServiceWithDestinations[]> {
  const out: ServiceWithDestinations[] = [];
  for await (const s of c.listAllServices({ namespace: ns, includeDestinations: true })) out.push(s);
  return out;
}
