// Pages of ListServices and ListDestinations (AIP-158). Pages follow a
// stable order, by identity, so a token can say "after this one" whatever
// changed meanwhile: a client following the tokens over an unchanged state
// sees every object exactly once, and a token whose object has gone resumes
// after where it was. A token also carries a fingerprint of the request's
// other fields, which must not change between pages.
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { AF_INET, addressBytes, type Destination } from '../ipvs/index.js';
import { RpcError } from './status.js';

const hex = (v: number, digits: number) => v.toString(16).padStart(digits, '0');

/** An address as fixed-width hex: 8 digits for IPv4, 32 for IPv6. */
function addressKey(family: number, address: string): string {
  if (!address) return '';
  if (family !== AF_INET) return addressBytes(family, address).toString('hex');
  let out = '';
  for (const octet of address.split('.')) out += hex(Number(octet), 2);
  return out;
}

/** A service's place in page order (family, firewall mark, protocol, address, port): keys sort as the services do. */
export function serviceOrderKey(s: {
  addressFamily: number;
  fwMark: number;
  protocol: number;
  address: string;
  port: number;
}): string {
  return `${hex(s.addressFamily, 2)}${hex(s.fwMark, 8)}${hex(s.protocol, 2)}${addressKey(s.addressFamily, s.address)}${hex(s.port, 4)}`;
}

/** A destination's place in page order: family, address, port. */
export function destinationOrderKey(d: Pick<Destination, 'addressFamily' | 'address' | 'port'>): string {
  return `${hex(d.addressFamily, 2)}${addressKey(d.addressFamily, d.address)}${hex(d.port, 4)}`;
}

/** Things in page order, each with its key. */
export function inPageOrder<T>(items: readonly T[], key: (t: T) => string): { item: T; key: string }[] {
  return items.map((item) => ({ item, key: key(item) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface PageToken {
  /** The key of the last object (service or destination) of the previous page. */
  after: string;
  /** For a service split across pages: the key of its last destination on the previous page. */
  afterDestination?: string;
}

/** A short hash of what must stay the same from page to page. */
export const fingerprint = (...fields: unknown[]) =>
  createHash('sha256').update(JSON.stringify(fields)).digest('base64url').slice(0, 12);

/** A page token: `fields` with the fingerprint of the request, as base64url JSON. */
export function encodeToken(fields: Record<string, unknown>, print: string): string {
  return Buffer.from(JSON.stringify({ v: 1, f: print, ...fields })).toString('base64url');
}

type TokenFields = Record<string, unknown>;

/**
 * A token's fields, or undefined for a first page; INVALID_ARGUMENT for one that is not this server's (or whose
 * fields `valid` refuses), or not for this request.
 */
export function decodeToken(token: string, print: string, valid: (t: TokenFields) => boolean): TokenFields | undefined {
  if (!token) return undefined;
  let t: TokenFields;
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    t = {};
  }
  const bad = (why: string) => new RpcError(status.INVALID_ARGUMENT, `page_token: ${why}`, 'page_token');
  if (typeof t !== 'object' || t === null || t.v !== 1 || !valid(t)) {
    throw bad('not a token this server gave (pass next_page_token unchanged)');
  }
  if (t.f !== print) throw bad("the request's other fields differ from those of the first page");
  return t;
}

export const encodePageToken = (t: PageToken, print: string) =>
  encodeToken({ a: t.after, d: t.afterDestination }, print);

const KEY = /^[0-9a-f]{1,64}$/;

/** The token of a request, or undefined for a first page; INVALID_ARGUMENT for one that is not this server's or not for this request. */
export function decodePageToken(token: string, print: string): PageToken | undefined {
  const t = decodeToken(
    token,
    print,
    (t) =>
      typeof t.a === 'string' && KEY.test(t.a) && (t.d === undefined || (typeof t.d === 'string' && KEY.test(t.d))),
  );
  return t && { after: t.a as string, afterDestination: t.d as string | undefined };
}

/** A request's page_size: 0 for no limit of its own; negative is INVALID_ARGUMENT. */
export function pageSize(n: number): number {
  if (n < 0) throw new RpcError(status.INVALID_ARGUMENT, `page_size: ${n} is negative`, 'page_size');
  return n === 0 ? Infinity : n;
}
