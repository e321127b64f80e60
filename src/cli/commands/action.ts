// What every command's action shares: the run it belongs to (its streams,
// and the connection its global options name, closed when the run ends),
// the whole listing, and ipvsadm-style commands. A failure is thrown: the
// run (../run.ts) prints it and turns it into the exit code.
import { readFileSync } from 'node:fs';
import { credentials } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { connectIpvs, type IpvsClient, type ServiceWithDestinations } from '../../client/index.js';
import type { CliIo } from '../io.js';

/** The program's global options (../program.ts defines them). */
interface Globals {
  addr: string;
  netns: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** One run of ipvsctl, as its commands see it. */
export class Cli {
  private readonly clients: IpvsClient[] = [];

  constructor(
    readonly program: Command,
    readonly io: CliIo,
  ) {}

  /** A client for the server and namespace the global options name; closed when the run ends. */
  client(): { c: IpvsClient; ns: string } {
    const g = this.program.opts<Globals>();
    const creds = g.tlsCa
      ? credentials.createSsl(
          readFileSync(g.tlsCa),
          g.tlsKey ? readFileSync(g.tlsKey) : null,
          g.tlsCert ? readFileSync(g.tlsCert) : null,
        )
      : undefined;
    const c = connectIpvs(g.addr, { credentials: creds });
    this.clients.push(c);
    return { c, ns: g.netns };
  }

  /** Writes to standard output. */
  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** Closes every client the run opened: a run inside a long-lived process must leave no channel behind. */
  close(): void {
    for (const c of this.clients.splice(0)) c.close();
  }
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

/** --json's text: indented, with a newline. */
export const jsonText = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** Every service with its destinations, over all pages. */
export async function listAll(c: IpvsClient, ns: string): Promise<ServiceWithDestinations[]> {
  const out: ServiceWithDestinations[] = [];
  for await (const s of c.listAllServices({ namespace: ns, includeDestinations: true })) out.push(s);
  return out;
}
