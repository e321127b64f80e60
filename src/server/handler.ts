// The one wrapper between async functions and grpc-js: every call passes the
// guard (authorization, audit) before its handler, whatever a handler
// throws becomes a status (never a hung call), every call is logged once
// with its outcome, and a stream's sends wait for the client (backpressure)
// and stop when it cancels.
import {
  status,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ValidationError } from '../ipvs/index.js';
import type { Reply } from '../rpc/definition.js';
import { OPEN, type Guard, type GuardableCall, type GuardedCall } from './guard.js';
import { RpcError, toStatus } from './status.js';

export interface CallContext {
  /** Aborted when the client cancels or the server shuts down. */
  signal: AbortSignal;
  log: Logger;
  /** Adds what the call changed (counts) to its audit line (guard.ts). */
  note(fields: Record<string, unknown>): void;
}

/** Maps a refused core field to the request's own field path (e.g. "service.id.port"). */
export type FieldPath<Req = never> = (e: ValidationError, req: Req) => string;

export type { Reply };
export type UnaryFn<Req, Res> = (req: Req, ctx: CallContext) => Promise<Reply<Res>>;
/** `send` resolves once the message is handed to the transport without exceeding its buffer. */
export type StreamFn<Req, Res> = (
  req: Req,
  send: (res: Reply<Res>) => Promise<void>,
  ctx: CallContext,
) => Promise<void>;

/** Live calls, so that shutdown can end streams with a status. */
export class Calls {
  private readonly live = new Set<AbortController>();

  track(): AbortController {
    const ac = new AbortController();
    this.live.add(ac);
    return ac;
  }
  done(ac: AbortController): void {
    this.live.delete(ac);
  }
  abortAll(reason: RpcError): void {
    for (const ac of this.live) ac.abort(reason);
  }
  get size(): number {
    return this.live.size;
  }
}

export interface HandlerOptions {
  log: Logger;
  calls: Calls;
  /** Told of every finished call (the metrics). */
  observe?: (method: string, code: string, seconds: number) => void;
  /** Authorizes each call before its handler runs, and audits it (guard.ts); without it, every call runs. */
  guard?: Guard;
}

/** The call's guard: a denied call throws its PERMISSION_DENIED before the handler runs. */
function admit(method: string, call: GuardableCall, req: unknown, opts: HandlerOptions): GuardedCall {
  return opts.guard?.open(method, call, req) ?? OPEN;
}

const namespaceOf = (req: unknown) => (req as { namespace?: string }).namespace ?? '';

function finish<Req>(
  method: string,
  req: Req,
  started: number,
  opts: HandlerOptions,
  g: GuardedCall,
  e: unknown,
  path?: FieldPath<Req>,
) {
  const ms = Math.round((performance.now() - started) * 100) / 100;
  if (e === undefined) {
    opts.log.info({ method, namespace: namespaceOf(req), code: 'OK', ms }, 'rpc');
    opts.observe?.(method, 'OK', ms / 1000);
    g.end('OK');
    return undefined;
  }
  const st = toStatus(e, path && e instanceof ValidationError ? () => path(e, req) : undefined);
  const line = { method, namespace: namespaceOf(req), code: status[st.code], ms, error: st.details };
  opts.observe?.(method, line.code ?? String(st.code), ms / 1000);
  g.end(line.code ?? String(st.code));
  if (st.internal) opts.log.error({ ...line, err: e }, 'rpc failed');
  else opts.log.info(line, 'rpc');
  return st;
}

export function unary<Req, Res>(
  method: string,
  fn: UnaryFn<Req, Res>,
  opts: HandlerOptions,
  path?: FieldPath<Req>,
): handleUnaryCall<Req, Reply<Res>> {
  return (call: ServerUnaryCall<Req, Reply<Res>>, callback) => {
    const started = performance.now();
    const ac = opts.calls.track();
    call.on('cancelled', () => ac.abort(new RpcError(status.CANCELLED, 'cancelled by the client')));
    const g = admit(method, call, call.request, opts);
    Promise.resolve()
      .then(() => {
        if (g.denied) throw g.denied;
        return fn(call.request, { signal: ac.signal, log: opts.log, note: g.note });
      })
      .then(
        (res) => {
          finish(method, call.request, started, opts, g, undefined);
          // An Encoded reply reaches the definition's serializer, which sends its bytes.
          callback(null, res);
        },
        (e: unknown) =>
          callback(finish(method, call.request, started, opts, g, e ?? new Error('undefined thrown'), path)!),
      )
      .finally(() => opts.calls.done(ac));
  };
}

export function serverStream<Req, Res>(
  method: string,
  fn: StreamFn<Req, Res>,
  opts: HandlerOptions,
  path?: FieldPath<Req>,
): handleServerStreamingCall<Req, Reply<Res>> {
  return (call: ServerWritableStream<Req, Reply<Res>>) => {
    const started = performance.now();
    const ac = opts.calls.track();
    call.on('cancelled', () => ac.abort(new RpcError(status.CANCELLED, 'cancelled by the client')));
    const send = (res: Reply<Res>) =>
      new Promise<void>((resolve, reject) => {
        if (ac.signal.aborted) {
          reject(ac.signal.reason);
          return;
        }
        if (call.write(res)) {
          resolve();
          return;
        }
        const onAbort = () => reject(ac.signal.reason);
        ac.signal.addEventListener('abort', onAbort, { once: true });
        call.once('drain', () => {
          ac.signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    const g = admit(method, call, call.request, opts);
    Promise.resolve()
      .then(() => {
        if (g.denied) throw g.denied;
        return fn(call.request, send, { signal: ac.signal, log: opts.log, note: g.note });
      })
      .then(
        () => {
          finish(method, call.request, started, opts, g, undefined);
          call.end();
        },
        (e: unknown) => {
          const st = finish(method, call.request, started, opts, g, e ?? new Error('undefined thrown'), path)!;
          if (!call.cancelled) call.emit('error', st);
        },
      )
      .finally(() => opts.calls.done(ac));
  };
}
