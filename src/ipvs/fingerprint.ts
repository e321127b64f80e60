// The options of a state's services and destinations (what plan and Mirror
// compare, never the counters) in one number: the same for two listings that
// hold the same rules, in whatever order, and almost surely not otherwise.
// It is a sum of one hash per service and per destination, so that the
// fingerprint after a reconcile follows from the one before and the changes
// applied, without listing again. Each poller tick of a big table can afford
// it: numbers and characters are mixed in place, nothing allocated per object.
import type { Change } from './apply.js';
import { DEST_FIELDS, SERVICE_FIELDS, withoutHashed } from './diff.js';
import type { BatchItemResult } from './handle.js';
import type { Destination, Service, ServiceWithDestinations } from './model.js';
import type { NormalDestination, NormalService } from './validate.js';

// FNV-1a's step over 32-bit values, then murmur3's finalizer, so that sums of object hashes stay well spread.
const mix = (h: number, v: number) => Math.imul(h ^ v, 0x01000193);
function finish(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
function mixValue(h: number, v: unknown): number {
  if (typeof v === 'number') return mix(h, v);
  const s = String(v);
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return mix(h, s.length);
}

type ServiceLike = NormalService | Service;
type DestinationLike = NormalDestination | Destination;

const SERVICE_ID = ['addressFamily', 'protocol', 'address', 'port', 'fwMark'] as const;
const DEST_ID = ['addressFamily', 'address', 'port'] as const;

/** The unfinished hash of a service's id: where its own hash and its destinations' start. */
function idHash(s: ServiceLike): number {
  let h = 0x811c9dc5;
  for (const f of SERVICE_ID) h = mixValue(h, s[f]);
  return h;
}

function serviceHash(id: number, s: ServiceLike): number {
  let h = id;
  for (const f of SERVICE_FIELDS) h = mixValue(h, withoutHashed(f, s[f]));
  return finish(h);
}

function destinationHash(id: number, d: DestinationLike): number {
  let h = mix(id, 0x64);
  for (const f of DEST_ID) h = mixValue(h, d[f]);
  for (const f of DEST_FIELDS) h = mixValue(h, d[f]);
  return finish(h);
}

/** A service's and its destinations' hashes, summed. */
function withDestinations(s: ServiceWithDestinations): number {
  const id = idHash(s);
  let sum = serviceHash(id, s);
  for (const d of s.destinations) sum = (sum + destinationHash(id, d)) >>> 0;
  return sum;
}

const SERVICES = 2 ** 32;
const of = (count: number, sum: number) => count * SERVICES + (sum >>> 0);

/**
 * The fingerprint of the services `owned` keeps (default: all) with their destinations: the service count and the
 * 32-bit sum of object hashes, as one safe integer.
 */
export function fingerprint(
  services: readonly ServiceWithDestinations[],
  owned: (s: Service) => boolean = () => true,
): number {
  let sum = 0;
  let count = 0;
  for (const s of services) {
    if (!owned(s)) continue;
    sum = (sum + withDestinations(s)) >>> 0;
    count++;
  }
  return of(count, sum);
}

/**
 * The fingerprint the kernel has after the changes of a plan from a state of fingerprint `before`: each change the
 * kernel applied (results[i].ok) adds or takes away its objects' hashes; a refused one changed nothing.
 */
export function fingerprintAfter(
  before: number,
  changes: readonly Change[],
  results: readonly BatchItemResult[],
): number {
  let count = Math.floor(before / SERVICES);
  let sum = before % SERVICES;
  const add = (h: number) => {
    sum = (sum + h) >>> 0;
  };
  const take = (h: number) => {
    sum = (sum - h) >>> 0;
  };
  changes.forEach((c, i) => {
    if (!results[i]?.ok) return;
    const id = idHash(c.service);
    switch (c.action) {
      case 'createService':
        count++;
        add(serviceHash(id, c.service));
        return;
      case 'updateService':
        take(serviceHash(id, c.before as Service));
        add(serviceHash(id, c.service));
        return;
      case 'deleteService':
        count--;
        take(withDestinations(c.before as ServiceWithDestinations));
        return;
      case 'createDestination':
        add(destinationHash(id, c.destination!));
        return;
      case 'deleteDestination':
        take(destinationHash(id, c.before as Destination));
        return;
      case 'updateDestination':
      case 'drainDestination':
        take(destinationHash(id, c.before as Destination));
        add(destinationHash(id, c.destination!));
        return;
    }
  });
  return of(count, sum);
}
