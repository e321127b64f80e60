// gRPC: grpc.health.v1.Health/Check for one service name, up when SERVING.
// Each probe has a channel of its own (a local subchannel pool, so no
// connection is shared with another probe) and closes it when done: a
// health check must see the server as a new client would, and hold nothing.
import { create } from '@bufbuild/protobuf';
import { type ChannelOptions, credentials, makeGenericClientConstructor, Metadata, status } from '@grpc/grpc-js';
import {
  Health,
  type HealthCheckResponse,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
} from '../../../gen/ts/grpc/health/v1/health_pb.js';
import { grpcDefinition } from '../../rpc/wire.js';
import type { ProbeRequest, ProbeResult } from '../probe.js';
import { started, timeoutReason } from './outcome.js';

const HealthClient = makeGenericClientConstructor(grpcDefinition(Health), 'Health');

type Check = (
  req: unknown,
  md: Metadata,
  o: { deadline: number },
  cb: (err: (Error & { code?: number; details?: string }) | null, res?: HealthCheckResponse) => void,
) => void;

/** A failed call in a few words: the connect error grpc-js wraps, else the status name. */
function callFailure(code: number, details: string, timeoutMs: number): string {
  if (code === status.DEADLINE_EXCEEDED) return timeoutReason(timeoutMs);
  const connect = /connect (E[A-Z]+)/.exec(details);
  if (connect) return `connect ${connect[1]}`;
  if (code !== status.UNAVAILABLE || !details) return `gRPC ${status[code] ?? code}`;
  // "No connection established. Last error: Error: self-signed certificate. Resolution note: ": its middle.
  const last = /Last error: (?:Error: )?(.*?)(?:\. Resolution note.*)?$/.exec(details)?.[1] ?? details;
  return `gRPC UNAVAILABLE: ${last.slice(0, 100)}`;
}

export function probeGrpc(r: ProbeRequest): Promise<ProbeResult> {
  const g = r.grpc!;
  const finish = started(r.id);
  // An address scheme, so that grpc-js resolves nothing.
  const target = r.address.includes(':') ? `ipv6:[${r.address}]:${r.port}` : `ipv4:${r.address}:${r.port}`;
  const options: ChannelOptions = { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_retries': 0 };
  if (g.sni) {
    options['grpc.ssl_target_name_override'] = g.sni;
    options['grpc.default_authority'] = g.sni;
  }
  const creds = g.tls
    ? credentials.createSsl(null, null, null, { rejectUnauthorized: g.verify })
    : credentials.createInsecure();
  const client = new HealthClient(target, creds, options);
  const check = (client as unknown as { check: Check }).check.bind(client);
  return new Promise((resolve) => {
    const req = create(HealthCheckRequestSchema, { service: g.service });
    check(req, new Metadata(), { deadline: Date.now() + r.timeoutMs }, (err, res) => {
      client.close();
      if (err) return resolve(finish(false, callFailure(err.code ?? status.UNKNOWN, err.details ?? '', r.timeoutMs)));
      const serving = res?.status === HealthCheckResponse_ServingStatus.SERVING;
      const name = HealthCheckResponse_ServingStatus[res?.status ?? 0] ?? String(res?.status);
      resolve(finish(serving, `gRPC ${name}`));
    });
  });
}
