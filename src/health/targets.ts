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

export type DownAction = 'weight-zero' | 'remove';

/** The checks of one service of a desired state. */
export interface ServiceHealthSpec {
  service: ServiceId;
  /** Of every destination without its own. */
  check?: Check;
  destinations: { address: string; port: number; check: Check }[];
  onDown: DownAction;
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

/** The checked destinations of `services`; CheckError with its field under health[i] when a spec does not fit. */
export function targetsOf(services: readonly DesiredService[], health: readonly ServiceHealthSpec[]): CheckedTarget[] {
  const desired = new Map(services.map((s) => [serviceKey(s, 'health'), s]));
  const seen = new Set<string>();
  const out: CheckedTarget[] = [];
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
    for (const d of svc.destinations ?? []) {
      const n = normalDestination(id, d, 'health');
      const destination = formatHostPort(n);
      const check = own.get(destination) ?? h.check;
      own.delete(destination);
      if (!check) continue;
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
  });
  return out;
}
