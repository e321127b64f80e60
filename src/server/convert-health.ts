// A desired state's health checks between the API's messages and the core's
// (src/health): durations to milliseconds, the kind's oneof to the prober's
// probe, and a refused field named under desired_state.health[i].
import { create } from '@bufbuild/protobuf';
import { DurationSchema, durationMs, timestampFromDate, type Duration } from '@bufbuild/protobuf/wkt';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/health_pb.js';
import { checkOf, CheckError, type Check, type ProbeTemplate } from '../health/check.js';
import { HealthMonitor, type Checked } from '../health/monitor.js';
import type { ServiceHealthSpec } from '../health/targets.js';
import { destinationIn, serviceIdIn, serviceIdOut } from './convert.js';
import { RpcError } from './status.js';

const ms = (d: Duration | undefined) => (d ? durationMs(d) : undefined);

function probeIn(k: api.HealthCheck['kind']): ProbeTemplate | undefined {
  switch (k.case) {
    case 'tcp':
      return { kind: 'tcp' };
    case 'http': {
      const h = k.value;
      return {
        kind: 'http',
        http: {
          tls: h.tls,
          path: h.path || '/',
          host: h.host || undefined,
          sni: h.sni || undefined,
          statuses: h.statuses.length ? h.statuses.map((r) => [r.min, r.max]) : [[200, 299]],
          body: h.bodyRegex || undefined,
          verify: !h.insecureSkipVerify,
        },
      };
    }
    case 'grpc':
      return {
        kind: 'grpc',
        grpc: {
          service: k.value.service,
          tls: k.value.tls,
          verify: !k.value.insecureSkipVerify,
          sni: k.value.sni || undefined,
        },
      };
    case 'udp':
      return {
        kind: 'udp',
        udp: { payload: Buffer.from(k.value.payload).toString('base64'), expect: k.value.replyRegex || undefined },
      };
    case 'exec':
      return {
        kind: 'exec',
        exec: { path: k.value.path, args: k.value.args, weightFromOutput: k.value.weightFromOutput },
      };
    default:
      return undefined;
  }
}

/** A check message as the core's Check; CheckError names the field under the check. */
export function checkIn(m: api.HealthCheck): Check {
  return checkOf({
    intervalMs: ms(m.interval),
    timeoutMs: ms(m.timeout),
    rise: m.rise,
    fall: m.fall,
    startDown: m.startDown,
    jitterMs: ms(m.jitter),
    address: m.address,
    port: m.port,
    slowStartMs: ms(m.slowStart),
    probe: probeIn(m.kind),
  });
}

/** `f()`, its CheckError as INVALID_ARGUMENT at `at`.field. */
function at<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof CheckError)) throw e;
    throw checkStatus(e, path);
  }
}

/** A CheckError as the status of a request field under `under`. */
export const checkStatus = (e: CheckError, under: string) =>
  new RpcError(status.INVALID_ARGUMENT, `${under}${e.message}`, `${under}${e.field}`);

export function healthIn(hs: api.ServiceHealth[], under: string): ServiceHealthSpec[] {
  return hs.map((h, i) => {
    const base = `${under}health[${i}].`;
    if (!h.service) throw new RpcError(status.INVALID_ARGUMENT, `${base}service is required`, `${base}service`);
    return {
      service: serviceIdIn(h.service, `${base}service`),
      check: h.check && at(`${base}check.`, () => checkIn(h.check!)),
      destinations: h.destinations.map((d, j) => {
        const path = `${base}destinations[${j}].`;
        if (!d.check) throw new RpcError(status.INVALID_ARGUMENT, `${path}check is required`, `${path}check`);
        return { address: d.address, port: d.port, check: at(`${path}check.`, () => checkIn(d.check!)) };
      }),
      onDown: h.onDown === api.DownAction.REMOVE ? 'remove' : 'weight-zero',
      quorum: h.quorum
        ? { min: h.quorum, hysteresis: h.quorumHysteresis, sorry: h.sorryServers.map((d) => destinationIn(d)) }
        : undefined,
    };
  });
}

const STATES = {
  unknown: api.HealthState.UNKNOWN,
  up: api.HealthState.UP,
  down: api.HealthState.DOWN,
} as const;
export const healthStateOut = (s: Checked['target']['state']) => STATES[s];

/** A latency in (fractional) ms as a Duration: durationFromMs would keep a fraction of a nanosecond, which int32 refuses. */
function latencyOut(ms: number) {
  const ns = Math.max(0, Math.round(ms * 1e6));
  return create(DurationSchema, { seconds: BigInt(Math.floor(ns / 1e9)), nanos: ns % 1e9 });
}

/** A checked destination's health as the API shows it. */
export function destinationHealthOut(c: Checked): api.DestinationHealth {
  const t = c.target;
  return create(api.DestinationHealthSchema, {
    service: serviceIdOut(c.serviceId),
    address: c.real.address,
    port: c.real.port,
    state: STATES[t.state],
    since: timestampFromDate(t.since),
    last: t.last && {
      time: timestampFromDate(t.last.time),
      ok: t.last.ok,
      latency: latencyOut(t.last.latencyMs),
      reason: t.last.reason,
    },
    consecutiveSuccesses: t.successes,
    consecutiveFailures: t.failures,
    weight: HealthMonitor.weightOf(c),
  });
}
