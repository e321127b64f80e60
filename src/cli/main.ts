// ipvsctl: the command line of ipvsd. Service and destination options are
// ipvsadm's own (`ipvsctl add-service -t 192.0.2.1:80 -s rr` is
// `ipvsadm -A -t 192.0.2.1:80 -s rr`), and save/restore speak ipvsadm's
// -S/-R format, so habits and rule files carry over.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { credentials, status } from '@grpc/grpc-js';
import { fromJson, type MessageInitShape } from '@bufbuild/protobuf';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import { parse as parseYaml } from 'yaml';
import {
  ApplyRequestSchema,
  ChangeAction,
  connectIpvs,
  IpvsError,
  type ApplyProgress,
  type ApplyRequest,
  type ApplyResponse,
  type BatchOperation,
  type IpvsClient,
  type ServiceWithDestinations,
} from '../client/index.js';
import { formatDestination, formatService, parseRuleArgs, parseRules, RuleError, sortLikeIpvsadm } from './rules.js';
import { applyRules } from './restore.js';
import { listTable } from './table.js';
import { watch } from './watch.js';

type ApplyRequestInit = MessageInitShape<typeof ApplyRequestSchema>;

interface Globals {
  addr: string;
  netns: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

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

function client(): { c: IpvsClient; ns: string } {
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
async function exit(code: number): Promise<never> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', r))));
  process.exit(code);
}

/** Runs an action; any failure prints the reason (the kernel's, when it is one) and exits 1. */
function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
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

/** Every service with its destinations, over all pages. */
async function listAll(c: IpvsClient, ns: string): Promise<ServiceWithDestinations[]> {
  const out: ServiceWithDestinations[] = [];
  for await (const s of c.listAllServices({ namespace: ns, includeDestinations: true })) out.push(s);
  return out;
}

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

for (const [name, flag, description] of RULE_COMMANDS) {
  program
    .command(name)
    .description(description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]')
    .action(
      run(async (args: string[]) => {
        const rule = parseRuleArgs([flag, ...args]);
        if (rule?.kind !== 'batch') throw new Error(`${name} needs a service`);
        const { c, ns } = client();
        await applyOne(c, ns, rule.op);
      }),
    );
}

program
  .command('list')
  .description('services and destinations, as ipvsadm -Ln shows them')
  .option('--json', 'JSON (64-bit counters as strings)')
  .action(
    run(async (o: { json?: boolean }) => {
      const { c, ns } = client();
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

program
  .command('flush')
  .description('delete every service')
  .action(
    run(async () => {
      const { c, ns } = client();
      await c.flush({ namespace: ns });
    }),
  );

program
  .command('zero')
  .description('zero the counters of one service (ipvsadm service options), or of all')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .argument('[options...]')
  .action(
    run(async (args: string[]) => {
      const { c, ns } = client();
      await applyRules(c, ns, [parseRuleArgs(['-Z', ...args])!]);
    }),
  );

program
  .command('config')
  .description('show the connection timeouts, or set them (seconds; 0 leaves one unchanged)')
  .option('--set <tcp tcpfin udp...>', 'as ipvsadm --set')
  .action(
    run(async (o: { set?: string[] }) => {
      const { c, ns } = client();
      if (o.set) {
        const [tcp, fin, udp] = o.set.map((v) => {
          if (!/^\d+$/.test(v)) throw new Error(`--set: ${JSON.stringify(v)} is not a number of seconds`);
          return Number(v);
        });
        if (o.set.length !== 3) throw new Error('--set needs three values: tcp tcpfin udp');
        await c.setConfig({ namespace: ns, config: { timeoutTcp: tcp, timeoutTcpFin: fin, timeoutUdp: udp } });
      }
      const { config } = await c.getConfig({ namespace: ns });
      process.stdout.write(
        `Timeout (tcp tcpfin udp): ${config?.timeoutTcp} ${config?.timeoutTcpFin} ${config?.timeoutUdp}\n`,
      );
    }),
  );

program
  .command('info')
  .description('IPVS version and connection table size')
  .action(
    run(async () => {
      const { c, ns } = client();
      const { info } = await c.getInfo({ namespace: ns });
      process.stdout.write(`IP Virtual Server version ${info?.version} (size=${info?.connectionTableSize})\n`);
    }),
  );

program
  .command('watch')
  .description('a live table of rates per service and destination, with sparklines')
  .option('--interval <seconds>', 'between snapshots (below 2 needs --fast)', '2')
  .option('--fast', "allow intervals below the kernel's 2 s estimator period")
  .option('--count <n>', 'stop after n snapshots', '0')
  .action(
    run(async (o: { interval: string; fast?: boolean; count: string }) => {
      const { c, ns } = client();
      await watch(c, {
        namespace: ns,
        intervalMs: Math.round(Number(o.interval) * 1000),
        fast: !!o.fast,
        count: Number(o.count),
      });
    }),
  );

program
  .command('save')
  .description('the rules in ipvsadm -S -n format')
  .action(
    run(async () => {
      const { c, ns } = client();
      const services = await listAll(c, ns);
      const lines = sortLikeIpvsadm(services).flatMap(({ service, destinations }) => [
        formatService(service!),
        ...destinations.map((d) => formatDestination(service!.id!, d)),
      ]);
      process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
    }),
  );

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
      const { c, ns } = client();
      const { applied, failed } = await applyRules(c, ns, rules);
      if (failed.length)
        throw new Error(`${failed.length} of ${rules.length} rules failed (${applied} applied):\n${failed.join('\n')}`);
    }),
  );

const SIGN: Record<number, string> = {
  [ChangeAction.CREATE_SERVICE]: '+',
  [ChangeAction.CREATE_DESTINATION]: '+',
  [ChangeAction.UPDATE_SERVICE]: '~',
  [ChangeAction.UPDATE_DESTINATION]: '~',
  [ChangeAction.DRAIN_DESTINATION]: '~',
  [ChangeAction.DELETE_SERVICE]: '-',
  [ChangeAction.DELETE_DESTINATION]: '-',
};

program
  .command('apply')
  .description(
    'make the namespace what a file describes (an ApplyRequest in protobuf JSON, as YAML or JSON): only the needed changes',
  )
  .requiredOption('-f, --file <file>', 'the desired state; - for standard input')
  .option('--dry-run', 'print the plan as a diff; change nothing')
  .option('--prune', 'delete owned services and destinations the file does not list')
  .option('--drain', 'with --prune: weight 0 instead of deleting destinations')
  .option(
    '--drain-timeout <seconds>',
    'with --drain: delete drained destinations once idle, or after this many seconds',
  )
  .action(
    run(async (o: { file: string; dryRun?: boolean; prune?: boolean; drain?: boolean; drainTimeout?: string }) => {
      const text = readFileSync(o.file === '-' ? 0 : o.file, 'utf8');
      let req: ApplyRequest;
      try {
        req = fromJson(ApplyRequestSchema, parseYaml(text) ?? {});
      } catch (e) {
        throw new Error(`${o.file}: ${(e as Error).message}`);
      }
      const { c, ns } = client();
      const seconds = o.drainTimeout === undefined ? undefined : Number(o.drainTimeout);
      if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 0))
        throw new Error(`--drain-timeout: ${o.drainTimeout} is not a whole number of seconds`);
      const base = {
        ...req,
        namespace: ns,
        prune: o.prune ?? req.prune,
        drain: o.drain ?? req.drain,
        drainTimeout: seconds === undefined ? req.drainTimeout : durationFromMs(seconds * 1000),
      };
      if (o.dryRun) {
        const planned = await applyListed(c, { ...base, dryRun: true });
        const lines = planned.changes.map((x) => `${SIGN[x.action] ?? '?'} ${x.description}`);
        process.stdout.write(
          lines.length ? `${lines.join('\n')}\n${lines.length} changes planned\n` : 'nothing to change\n',
        );
        return;
      }
      const bar = progress('applying');
      let r: ApplyResponse | undefined;
      try {
        r = await applyListed(c, { ...base, dryRun: false }, (p) => bar.update(p.done, p.planned));
      } finally {
        bar.end(r ? r.applied + r.failed : undefined);
      }
      if (!r.applied && !r.failed) {
        process.stdout.write('nothing to change\n');
        return;
      }
      for (const x of r.changes)
        process.stdout.write(
          `${x.code ? '!' : (SIGN[x.action] ?? '?')} ${x.description}${x.code ? `: ${x.errno}` : ''}\n`,
        );
      process.stdout.write(`${r.applied} applied, ${r.failed} failed\n`);
      if (r.failed) throw new Error(`${r.failed} changes failed`);
    }),
  );

/**
 * An Apply through ApplyWithProgress, for its result: unlike unary Apply,
 * which leaves out what would pass the server's response limit, it lists
 * every change (in parts, which the client joins).
 */
async function applyListed(
  c: IpvsClient,
  apply: ApplyRequestInit,
  onProgress?: (p: ApplyProgress) => void,
): Promise<ApplyResponse> {
  let r: ApplyResponse | undefined;
  for await (const m of c.applyWithProgress({ apply })) {
    if (m.event.case === 'progress') onProgress?.(m.event.value);
    else if (m.event.case === 'result') r = m.event.value;
  }
  if (!r) throw new Error('the server ended the Apply without a result');
  return r;
}

/**
 * Progress of `what`: on a terminal, a bar redrawn in place; otherwise a
 * plain line at each tenth. `end(total)` closes it with the elapsed time.
 */
function progress(what: string): { update(done: number, planned: number): void; end(total?: number): void } {
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const width = 30;
  let tenth = -1;
  return {
    update(done, planned) {
      if (process.stderr.isTTY) {
        const filled = planned ? Math.round((done / planned) * width) : 0;
        process.stderr.write(
          `\r${what} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${planned} ${seconds()}`,
        );
      } else if (planned && Math.floor((done / planned) * 10) > tenth) {
        tenth = Math.floor((done / planned) * 10);
        process.stderr.write(`${what}: ${done} of ${planned} changes done\n`);
      }
    },
    end(total) {
      const line = `${what}: ${total === undefined ? 'stopped' : `${total} changes`} in ${seconds()}`;
      process.stderr.write(process.stderr.isTTY ? `\r${line}${' '.repeat(width + 20)}\n` : `${line}\n`);
    },
  };
}

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`ipvsctl: ${e instanceof RuleError ? e.message : String(e)}\n`);
  process.exit(1);
});
