// The wire between the server and a prober child process: one JSON object a
// line, requests down its stdin, results (after one ready line) up its stdout.
// Types and the line codec only, no I/O. What arrives is checked field by
// field: a malformed line is a ProbeLineError to report, never a crash, and
// never a probe run with half a request.
import { isIPv4, isIPv6 } from 'node:net';

export type ProbeKind = 'tcp' | 'http' | 'grpc' | 'udp' | 'exec';
export const PROBE_KINDS: readonly ProbeKind[] = ['tcp', 'http', 'grpc', 'udp', 'exec'];

export interface HttpProbe {
  tls: boolean;
  /** The request target, from "/". */
  path: string;
  /** The Host header; the address (and port) when absent. */
  host?: string;
  /** TLS server name; `host` when absent and a name. */
  sni?: string;
  /** Statuses that are up, inclusive ranges (the caller defaults them to [[200, 299]]). */
  statuses: [number, number][];
  /** A JS regex source, tested against the first 64 KiB of the body. */
  body?: string;
  /** Whether the server's certificate must verify (the caller defaults it to true). */
  verify: boolean;
  /** PEM CA bundle to verify with, instead of the system's. */
  caFile?: string;
}

export interface GrpcProbe {
  /** grpc.health.v1 service name; "" is the server as a whole. */
  service: string;
  tls: boolean;
  verify: boolean;
  sni?: string;
}

export interface UdpProbe {
  /** The datagram, base64. */
  payload: string;
  /** A regex source over the reply as latin1; any reply is up when absent. */
  expect?: string;
}

export interface ExecProbe {
  /** An absolute path: no PATH search. */
  path: string;
  args: string[];
  /** The first line of stdout, an integer 0..65535, becomes the result's weight. */
  weightFromOutput: boolean;
}

export interface ProbeRequest {
  id: number;
  kind: ProbeKind;
  /** An IPv4 or IPv6 literal: the prober resolves no names. */
  address: string;
  port: number;
  timeoutMs: number;
  http?: HttpProbe;
  grpc?: GrpcProbe;
  udp?: UdpProbe;
  exec?: ExecProbe;
}

export interface ProbeResult {
  id: number;
  ok: boolean;
  latencyMs: number;
  /** Short and operator-readable: "connect ECONNREFUSED", "HTTP 503", "exit 0, weight 5". */
  reason: string;
  weight?: number;
}

/** The prober's first line: the network namespace it lives in, for the parent to check. */
export interface ReadyLine {
  ready: true;
  netnsInode: number;
}

export const MAX_TIMEOUT_MS = 3_600_000;
export const MAX_WEIGHT = 65535;
/** The largest IPv4 UDP payload. */
export const MAX_UDP_PAYLOAD = 65507;

/** A line that is not what the wire says; `id` when the line had a usable one. */
export class ProbeLineError extends Error {
  override readonly name = 'ProbeLineError';
  constructor(
    message: string,
    readonly id?: number,
  ) {
    super(message);
  }
}

export const encodeLine = (msg: ProbeRequest | ProbeResult | ReadyLine): string => `${JSON.stringify(msg)}\n`;

type Obj = Record<string, unknown>;

/** Reads fields of one object, naming the first that is wrong. */
class Fields {
  constructor(
    private readonly o: Obj,
    private readonly at: string,
    private readonly id?: number,
  ) {}

  fail(field: string, what: string): never {
    throw new ProbeLineError(`${this.at}${field}: ${what}`, this.id);
  }

  int(field: string, min: number, max: number): number {
    const v = this.o[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `not an integer ${min}..${max}`);
    }
    return v;
  }

  /** Milliseconds, fractions too. */
  duration(field: string): number {
    const v = this.o[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(field, 'not a duration');
    return v;
  }

  bool(field: string): boolean {
    const v = this.o[field];
    if (typeof v !== 'boolean') this.fail(field, 'not a boolean');
    return v;
  }

  str(field: string, ok: (s: string) => boolean = () => true, what = 'not a string'): string {
    const v = this.o[field];
    if (typeof v !== 'string' || !ok(v)) this.fail(field, what);
    return v;
  }

  /** Sets `out[field]` only when present, so that absent stays absent. */
  optStr<T extends object>(out: T, field: keyof T & string, ok?: (s: string) => boolean, what?: string): void {
    if (this.o[field] !== undefined) (out as Obj)[field] = this.str(field, ok, what);
  }

  obj(field: string): Fields {
    const v = this.o[field];
    if (!isObj(v)) this.fail(field, 'not an object');
    return new Fields(v, `${this.at}${field}.`, this.id);
  }

  raw(field: string): unknown {
    return this.o[field];
  }
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parse(line: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProbeLineError(`not JSON: ${line.length > 60 ? `${line.slice(0, 60)}…` : line}`);
  }
  if (!isObj(v)) throw new ProbeLineError('not a JSON object');
  return v;
}

const isRegex = (s: string) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
};
/** Printable ASCII without spaces: what a Host header, a server name or a request target may hold. */
const isToken = (s: string) => /^[\x21-\x7e]+$/.test(s);
const isAbsolutePath = (s: string) => s.startsWith('/') && !s.includes('\0');
const isBase64 = (s: string) =>
  s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && (s.length / 4) * 3 <= MAX_UDP_PAYLOAD + 2;

function readHttp(f: Fields): HttpProbe {
  const statuses = f.raw('statuses');
  const isRange = (r: unknown): r is [number, number] =>
    Array.isArray(r) &&
    r.length === 2 &&
    r.every((n) => Number.isInteger(n) && n >= 100 && n <= 599) &&
    (r[0] as number) <= (r[1] as number);
  if (!Array.isArray(statuses) || statuses.length === 0 || !statuses.every(isRange)) {
    f.fail('statuses', 'not a non-empty list of [low, high] statuses 100..599');
  }
  const out: HttpProbe = {
    tls: f.bool('tls'),
    path: f.str('path', (s) => s.startsWith('/') && isToken(s), 'not a path from "/" without spaces'),
    statuses: statuses.map(([lo, hi]) => [lo, hi]),
    verify: f.bool('verify'),
  };
  f.optStr(out, 'host', isToken, 'not a host name without spaces');
  f.optStr(out, 'sni', isToken, 'not a server name without spaces');
  f.optStr(out, 'body', isRegex, 'not a regular expression');
  f.optStr(out, 'caFile', isAbsolutePath, 'not an absolute path');
  return out;
}

function readGrpc(f: Fields): GrpcProbe {
  const out: GrpcProbe = { service: f.str('service'), tls: f.bool('tls'), verify: f.bool('verify') };
  f.optStr(out, 'sni', isToken, 'not a server name without spaces');
  return out;
}

function readUdp(f: Fields): UdpProbe {
  const out: UdpProbe = {
    payload: f.str('payload', isBase64, `not base64 of at most ${MAX_UDP_PAYLOAD} bytes`),
  };
  f.optStr(out, 'expect', isRegex, 'not a regular expression');
  return out;
}

function readExec(f: Fields): ExecProbe {
  const args = f.raw('args');
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' && !a.includes('\0'))) {
    f.fail('args', 'not a list of strings');
  }
  return {
    path: f.str('path', isAbsolutePath, 'not an absolute path'),
    args: [...args],
    weightFromOutput: f.bool('weightFromOutput'),
  };
}

/**
 * A request as it must be, from anything: a decoded line, or what a caller
 * built (the parent checks before it sends). Unknown fields are dropped.
 */
export function checkRequest(v: unknown): ProbeRequest {
  if (!isObj(v)) throw new ProbeLineError('not a JSON object');
  const id = v.id;
  const f = new Fields(v, '', Number.isSafeInteger(id) && (id as number) >= 0 ? (id as number) : undefined);
  const kind = f.str('kind', (s) => (PROBE_KINDS as string[]).includes(s), `not one of ${PROBE_KINDS.join(', ')}`);
  const out: ProbeRequest = {
    id: f.int('id', 0, Number.MAX_SAFE_INTEGER),
    kind: kind as ProbeKind,
    address: f.str('address', (s) => isIPv4(s) || isIPv6(s), 'not an IPv4 or IPv6 address'),
    // A script may ignore the port; every other kind connects to it.
    port: f.int('port', kind === 'exec' ? 0 : 1, 65535),
    timeoutMs: f.int('timeoutMs', 1, MAX_TIMEOUT_MS),
  };
  switch (out.kind) {
    case 'tcp':
      break;
    case 'http':
      out.http = readHttp(f.obj('http'));
      break;
    case 'grpc':
      out.grpc = readGrpc(f.obj('grpc'));
      break;
    case 'udp':
      out.udp = readUdp(f.obj('udp'));
      break;
    case 'exec':
      out.exec = readExec(f.obj('exec'));
      break;
  }
  return out;
}

export const decodeRequest = (line: string): ProbeRequest => checkRequest(parse(line));

export function decodeResult(line: string): ProbeResult {
  const v = parse(line);
  const id = v.id;
  const f = new Fields(v, '', Number.isSafeInteger(id) && (id as number) >= 0 ? (id as number) : undefined);
  const out: ProbeResult = {
    id: f.int('id', 0, Number.MAX_SAFE_INTEGER),
    ok: f.bool('ok'),
    latencyMs: f.duration('latencyMs'),
    reason: f.str('reason'),
  };
  if (v.weight !== undefined) out.weight = f.int('weight', 0, MAX_WEIGHT);
  return out;
}

export function decodeReady(line: string): ReadyLine {
  const v = parse(line);
  const f = new Fields(v, '');
  if (v.ready !== true) f.fail('ready', 'not true');
  return { ready: true, netnsInode: f.int('netnsInode', 1, Number.MAX_SAFE_INTEGER) };
}
