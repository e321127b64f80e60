// ipvsadm's list options on `ipvsctl list`: the views (--stats, --rate,
// --thresholds, --persistent-conn, with --exact; --tun-info), one service (-t, -u,
// --sctp-service, -f [-6]), --timeout and --daemon, accepted and refused
// in the combinations ipvsadm -L accepts and refuses. The text is
// view-format.ts's.
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import {
  AddressFamily,
  Protocol,
  type IpvsClient,
  type ServiceIdSchema,
  type ServiceWithDestinations,
} from '../../client/index.js';
import { sortLikeIpvsadm } from '../rule-format.js';
import { parseHostPort } from '../rule-parse.js';
import { formatDaemons, formatTimeout, formatVersion, formatView, type View } from '../view-format.js';
import { listAll } from './action.js';

type ServiceIdInit = MessageInitShape<typeof ServiceIdSchema>;

export interface ViewOptions {
  stats?: boolean;
  rate?: boolean;
  thresholds?: boolean;
  persistentConn?: boolean;
  exact?: boolean;
  tunInfo?: boolean;
  sort?: boolean;
  numeric?: boolean;
  timeout?: boolean;
  daemon?: boolean;
  tcpService?: string;
  udpService?: string;
  sctpService?: string;
  fwmarkService?: string;
  ipv6?: boolean;
}

/** ipvsadm's precedence when several are given: the first of these wins, as in `ipvsadm -L --stats --rate`. */
const VIEWS: [keyof ViewOptions, View][] = [
  ['stats', 'stats'],
  ['rate', 'rate'],
  ['thresholds', 'thresholds'],
  ['persistentConn', 'persistent-conn'],
];

export function addViewOptions(cmd: Command): Command {
  return cmd
    .option('--stats', 'counters: connections, packets and bytes in and out (ipvsadm --stats)')
    .option('--rate', "rates from the kernel's 2 s estimator: connections, packets and bytes per second (--rate)")
    .option('--thresholds', "destinations' upper and lower connection thresholds (--thresholds)")
    .option('--persistent-conn', "destinations' persistence templates (--persistent-conn)")
    .option('--exact', 'every digit of counters and rates, not K/M/G/T (--exact)')
    .option('--tun-info', "destinations' tunnel type, port and checksum, in the default view (--tun-info)")
    .option('--sort', 'sorted by service, then destination: always so, as in ipvsadm (--sort)')
    .option('-n, --numeric', 'numeric addresses and ports: always so (ipvsctl resolves no names)')
    .option('--timeout', 'the connection timeouts (--timeout)')
    .option('--daemon', 'the connection-sync daemons (--daemon)')
    .option('-t, --tcp-service <address:port>', 'only this TCP service')
    .option('-u, --udp-service <address:port>', 'only this UDP service')
    .option('--sctp-service <address:port>', 'only this SCTP service')
    .option('-f, --fwmark-service <mark>', 'only this firewall-mark service')
    .option('-6, --ipv6', 'the firewall-mark service is IPv6 (with -f)');
}

/** The one service the options name, if any; ipvsadm's refusals as errors. */
function serviceOf(o: ViewOptions): ServiceIdInit | undefined {
  const given: ServiceIdInit[] = [];
  for (const [flag, v, protocol] of [
    ['-t', o.tcpService, Protocol.TCP],
    ['-u', o.udpService, Protocol.UDP],
    ['--sctp-service', o.sctpService, Protocol.SCTP],
  ] as const) {
    if (v === undefined) continue;
    try {
      const hp = parseHostPort(v, true);
      given.push({ addressFamily: hp.family, protocol, address: hp.address, port: hp.port! });
    } catch (e) {
      throw new Error(`${flag}: ${(e as Error).message}`);
    }
  }
  if (o.fwmarkService !== undefined) {
    const mark = /^\d+$/.test(o.fwmarkService) ? Number(o.fwmarkService) : 0;
    if (mark < 1 || mark > 0xffffffff)
      throw new Error(`-f needs a firewall mark in 1..4294967295, not ${JSON.stringify(o.fwmarkService)}`);
    given.push({ fwMark: mark, addressFamily: o.ipv6 ? AddressFamily.INET6 : AddressFamily.INET });
  } else if (o.ipv6) {
    throw new Error('-6 is for a firewall-mark service: give -f MARK with it');
  }
  if (given.length > 1) throw new Error('one service at a time: give only one of -t, -u, --sctp-service, -f');
  return given[0];
}

function viewOf(o: ViewOptions): View {
  return VIEWS.find(([key]) => o[key])?.[1] ?? 'default';
}

/** --timeout and --daemon stand alone, as in ipvsadm; a view or a service with them is refused. */
function checkAlone(o: ViewOptions): void {
  const alone = (['timeout', 'daemon'] as const).filter((k) => o[k]);
  if (!alone.length) return;
  const others = [
    ...alone.slice(1).map((k) => `--${k}`),
    ...VIEWS.filter(([key]) => o[key]).map(([, view]) => `--${view}`),
    ...(serviceOf(o) ? ['a service'] : []),
  ];
  if (others.length) throw new Error(`--${alone[0]} lists alone: not with ${others.join(', ')}`);
}

/** The services the options select, in ipvsadm's order: the one named, or all of them. */
export async function selectServices(c: IpvsClient, ns: string, o: ViewOptions): Promise<ServiceWithDestinations[]> {
  const id = serviceOf(o);
  if (!id) return sortLikeIpvsadm(await listAll(c, ns));
  const { service } = await c.getService({ namespace: ns, service: id, includeDestinations: true });
  return sortLikeIpvsadm(service ? [service] : []);
}

/** Refuses what --json cannot honour: it prints every field of the selected services. */
export function checkJson(o: ViewOptions): void {
  const given = [
    ...(['timeout', 'daemon'] as const).filter((k) => o[k]),
    ...VIEWS.filter(([key]) => o[key]).map(([, view]) => view),
  ];
  if (given.length)
    throw new Error(`--json prints every field of the services: leave out ${given.map((f) => `--${f}`).join(', ')}`);
}

/** `list -c` is the connection table alone: -n and --sort (always so) go with it, no view or service. */
export function checkConnectionOptions(o: ViewOptions & { json?: boolean }): void {
  const given = (
    [
      'json',
      'stats',
      'rate',
      'thresholds',
      'persistentConn',
      'exact',
      'tunInfo',
      'timeout',
      'daemon',
      'tcpService',
      'udpService',
      'sctpService',
      'fwmarkService',
      'ipv6',
    ] as const
  ).filter((k) => o[k] !== undefined);
  if (given.length)
    throw new Error(
      `-c lists the connection table alone: leave out ${given.map((k) => `--${k.replace(/[A-Z]/g, (l) => `-${l.toLowerCase()}`)}`).join(', ')}`,
    );
}

/** What `ipvsadm -Ln` with the same options prints. */
export async function listView(c: IpvsClient, ns: string, o: ViewOptions): Promise<string> {
  checkAlone(o);
  if (o.timeout) return formatTimeout((await c.getConfig({ namespace: ns })).config);
  if (o.daemon) return formatDaemons((await c.listDaemons({ namespace: ns })).daemons);
  const view = viewOf(o);
  const look = { exact: o.exact === true, tunInfo: o.tunInfo === true };
  // One service has no version line (ipvsadm prints it only above the whole table).
  if (serviceOf(o)) return formatView(await selectServices(c, ns, o), view, look);
  const [services, { info }] = await Promise.all([selectServices(c, ns, o), c.getInfo({ namespace: ns })]);
  return `${formatVersion(info)}${formatView(services, view, look)}`;
}
