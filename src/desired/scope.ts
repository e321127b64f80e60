// Scopes as sets of services: whether a scope is well formed, and whether two
// scopes could both own one service. Two desired states of a namespace must
// never own the same service, or each reconcile would undo the other's.
import { addressBytes, AF_INET6, familyOf } from '../inet/address.js';
import { ValidationError, type Scope } from '../ipvs/index.js';

/** An address or CIDR prefix as family, bytes and prefix length (an address is a full-length prefix). */
interface Net {
  family: number;
  bytes: Buffer;
  bits: number;
  text: string;
}

const refuse = (field: string, reason: string) => new ValidationError('desiredState', field, reason, 'batch');

function netOf(text: string, field: 'scope.addresses' | 'scope.prefixes'): Net {
  const [addr = '', bitsText] = field === 'scope.prefixes' ? text.split('/') : [text];
  const family = familyOf(addr);
  const max = family === AF_INET6 ? 128 : 32;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!family || (field === 'scope.prefixes' && !/^\d{1,3}$/.test(bitsText ?? '')) || bits > max) {
    const what = field === 'scope.prefixes' ? 'a CIDR prefix' : 'an IP address';
    throw refuse(field, `${JSON.stringify(text)} is not ${what}`);
  }
  return { family, bytes: addressBytes(family, addr), bits, text };
}

/** The scope's addresses and prefixes, checked: ValidationError (field "scope.addresses" or "scope.prefixes"). */
export function scopeNets(scope: Scope | undefined): Net[] {
  return [
    ...(scope?.addresses ?? []).map((a) => netOf(a, 'scope.addresses')),
    ...(scope?.prefixes ?? []).map((p) => netOf(p, 'scope.prefixes')),
  ];
}

/** Whether two nets share an address: the same family and the same leading bits, as many as the shorter has. */
function netsMeet(a: Net, b: Net): boolean {
  if (a.family !== b.family) return false;
  const bits = Math.min(a.bits, b.bits);
  for (let i = 0; i < bits; i++) {
    const bit = 0x80 >> (i % 8);
    if ((a.bytes[i >> 3]! & bit) !== (b.bytes[i >> 3]! & bit)) return false;
  }
  return true;
}

const isEmpty = (s: Scope | undefined) => !s?.addresses?.length && !s?.prefixes?.length && !s?.fwMarks?.length;

/**
 * What two scopes both own, described ("the whole namespace", "192.0.2.0/24 and 192.0.2.7", "firewall mark 5"),
 * or undefined when no service could be owned by both. An empty scope owns every service.
 */
export function overlap(a: Scope | undefined, b: Scope | undefined): string | undefined {
  if (isEmpty(a) || isEmpty(b))
    return isEmpty(a) && isEmpty(b) ? 'the whole namespace' : 'an empty scope owns every service';
  const mark = a?.fwMarks?.find((m) => b?.fwMarks?.includes(m));
  if (mark !== undefined) return `firewall mark ${mark}`;
  const bNets = scopeNets(b);
  for (const x of scopeNets(a)) {
    const y = bNets.find((n) => netsMeet(x, n));
    if (y) return x.text === y.text ? x.text : `${x.text} and ${y.text}`;
  }
  return undefined;
}
