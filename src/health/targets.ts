// What a desired state's health specs check: each destination of a desired
// service with a check (its own, or its service's), and what is probed.
// A check of a service or destination that is not desired, or of nothing
// with a port, is refused with the field at fault.
import {
  canonicalAddress,
  describeService,
  familyOf,
  formatHostPort,
  normalDestination,
  normalServiceId,
  serviceKey,
  ValidationError,
  type DesiredService,
  type NormalServiceId,
  type ServiceId,
} from '../ipvs/index.js';
import { CheckError, type Check } from './check.js';
import type { QuorumSpec } from './quorum.js';

export type DownAction = 'weight-zero' | 'remove';

/** The checks of one service of a desired state. */
export interface ServiceHealthSpec {
  service: ServiceId;
  /** Of every destination without its own. */
  check?: Check;
  destinations: { address: string; port: number; check: Check }[];
  onDown: DownAction;
  quorum?: QuorumSpec;
}

/** A service with a quorum: what its unchecked destinations weigh (they count as up). */
export interface QuorumOf {
  service: string;
  spec: QuorumSpec;
  unchecked: number;
}

export interface CheckedTarget {
  /** describeService of its service. */
  service: string;
  serviceId: NormalServiceId;
  /** formatHostPort of the destination. */
  destination: string;
  /** The destination's own address, port and declared weight. */
  real: { addressFamily: number; address: string; port: number; weight: number };
  address: string;
  port: number;
  check: Check;
  onDown: DownAction;
}

const destinationKey = (address: string, port: number) => {
  const family = familyOf(address);
  return family ? formatHostPort({ addressFamily: family, address: canonicalAddress(family, address), port }) : '';
};

/**
 * The checked destinations of `services`, and the services with a quorum; CheckError with its field under health[i]
 * when a spec does not fit.
 */
export function targetsOf(
  services: readonly DesiredService[],
  health: readonly ServiceHealthSpec[],
): { targets: CheckedTarget[]; quorums: QuorumOf[] } {
  const desired = new Map(services.map((s) => [serviceKey(s, 'health'), s]));
  const seen = new Set<string>();
  const out: CheckedTarget[] = [];
  const quorums: QuorumOf[] = [];
  health.forEach((h, i) => {
    const at = `health[${i}]`;
    let key: string;
    try {
      key = serviceKey(h.service, 'health');
    } catch (e) {
      throw new CheckError(`${at}.service`, e instanceof ValidationError ? e.message : String(e));
    }
    const svc = desired.get(key);
    if (!svc) throw new CheckError(`${at}.service`, `${key} is not one of the desired state's services`);
    if (seen.has(key)) throw new CheckError(`${at}.service`, `${key} has health checks twice`);
    seen.add(key);
    const id = normalServiceId(svc, 'health');
    const own = new Map<string, Check>();
    h.destinations.forEach((d, j) => {
      const dk = destinationKey(d.address, d.port || id.port);
      if (!dk)
        throw new CheckError(`${at}.destinations[${j}].address`, `${JSON.stringify(d.address)} is not an IP address`);
      if (own.has(dk)) throw new CheckError(`${at}.destinations[${j}]`, `${dk} is checked twice`);
      own.set(dk, d.check);
    });
    const all = new Set<string>();
    let unchecked = 0;
    for (const d of svc.destinations ?? []) {
      const n = normalDestination(id, d, 'health');
      const destination = formatHostPort(n);
      all.add(destination);
      const check = own.get(destination) ?? h.check;
      own.delete(destination);
      if (!check) {
        unchecked += n.weight;
        continue;
      }
      const port = check.port ?? n.port;
      if (!port) throw new CheckError(`${at}.check.port`, `${destination} has no port: the check needs one`);
      out.push({
        service: describeService(id),
        serviceId: id,
        destination,
        real: { addressFamily: n.addressFamily, address: n.address, port: n.port, weight: n.weight },
        address: check.address ?? n.address,
        port,
        check,
        onDown: h.onDown,
      });
    }
    const [stray] = own.keys();
    if (stray) throw new CheckError(`${at}.destinations`, `${stray} is not a destination of ${key}`);
    if (h.quorum) quorums.push({ service: describeService(id), spec: checkQuorum(h.quorum, id, all, at), unchecked });
  });
  return { targets: out, quorums };
}

function checkQuorum(q: QuorumSpec, id: NormalServiceId, desired: Set<string>, at: string): QuorumSpec {
  if (q.hysteresis > q.min)
    throw new CheckError(`${at}.quorum_hysteresis`, `${q.hysteresis} is more than the quorum (${q.min})`);
  q.sorry.forEach((d, k) => {
    let key: string;
    try {
      key = formatHostPort(normalDestination(id, d, 'health'));
    } catch (e) {
      throw new CheckError(`${at}.sorry_servers[${k}]`, e instanceof ValidationError ? e.message : String(e));
    }
    if (desired.has(key))
      throw new CheckError(`${at}.sorry_servers[${k}]`, `${key} is one of the service's destinations`);
  });
  return q;
}
