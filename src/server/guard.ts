// Every call's authorization and audit, at the one place each kind of
// handler passes (handler.ts for IpvsService; guardedServer below for the
// health and reflection services on the same listeners): the peer and the
// request's namespace (x-ipvsd-namespace) are put to the --authz-policy in
// force; a denied call ends PERMISSION_DENIED before its handler runs, and
// the audit line is written (audit.ts). Without a policy every call is
// allowed, as before, and writes are still audited. An allowed write then
// takes a token of its principal's --write-rate-limit; none left, it ends
// RESOURCE_EXHAUSTED saying when to retry.
import type { EventEmitter } from 'node:events';
import { status, type Metadata, type Server, type ServiceDefinition, type UntypedHandleCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { decide, type Decision } from '../authz/engine.js';
import { requestHeaders } from '../authz/headers.js';
import { peerOf, principalName, type Peer, type TransportAuth } from '../authz/peer.js';
import type { Policy } from '../authz/policy.js';
import { changeOf, WRITES } from './audit.js';
import { namespaceName } from './namespaces.js';
import type { WriteLimiter } from './rate-limit.js';
import type { WatcherSlots } from './watchers.js';
import { RpcError } from './status.js';

/** What the guard reads of a grpc-js call (any kind). */
export interface GuardableCall {
  metadata: Metadata;
  getPath(): string;
  getPeer(): string;
  getAuthContext(): TransportAuth;
}

export interface GuardOptions {
  log: Logger;
  /** The policy in force, read at each call (it may be reloaded); undefined: allow every call. */
  policy: () => Policy | undefined;
  /** Whether the listeners speak TLS: then a peer without a certificate is TLS without one, not plain text. */
  tls: boolean;
  /** Audit allowed reads too (--audit-reads). */
  auditReads: boolean;
  /** The namespace of a held desired state, by name (for the RPCs that name one). */
  desiredNamespace?: (name: string) => string | undefined;
  /** The credentials of a unix socket peer, by the name grpc-js gives it (call.getPeer(); unix-socket.ts). */
  unixPeer?: (peer: string) => { uid: number; gid: number } | undefined;
  /** --write-rate-limit: each principal's writes (an allowed write takes a token; none left, it is refused). */
  writeLimit?: WriteLimiter;
}

/** One call under the guard. */
export interface GuardedCall {
  /** Set when the call is denied: end it with this. */
  denied?: RpcError;
  /** Adds to the audit line what the call changed (counts the handler learns). */
  note(fields: Record<string, unknown>): void;
  /** The call ended with `code` (a status name; none when only its start is known): its audit line, if audited. */
  end(code?: string): void;
}

/** gRPC's own words for it (grpc-go), so that clients see what they would from any A43 server. */
export const DENIED_MESSAGE = 'authz: unauthorized RPC request rejected';

/** A call that is allowed and not audited. */
export const OPEN: GuardedCall = { note: () => {}, end: () => {} };

export class Guard {
  constructor(private readonly o: GuardOptions) {}

  /**
   * The namespace a call acts in, as x-ipvsd-namespace shows it (namespaceName:
   * "web" however written): the request's field; ApplyWithProgress's
   * apply.namespace; a desired state's namespace for the RPCs that name one
   * (none when it is not held, nor for ListDesiredStates, nor for other
   * services than IpvsService).
   */
  namespaceOf(method: string, req: unknown): string | undefined {
    const ns = this.written(method, req);
    return ns === undefined ? undefined : namespaceName(ns);
  }

  /** The namespace as the request (or the desired state it names) writes it. */
  private written(method: string, req: unknown): string | undefined {
    if (req === undefined) return undefined;
    const r = req as Record<string, unknown>;
    switch (method) {
      case 'ApplyWithProgress':
        return (r.apply as { namespace?: string } | undefined)?.namespace ?? '';
      case 'PutDesiredState':
        return (r.desiredState as { namespace?: string } | undefined)?.namespace ?? '';
      case 'GetDesiredState':
      case 'DeleteDesiredState':
        return this.o.desiredNamespace?.(r.name as string);
      case 'ListDestinationHealth':
        return this.o.desiredNamespace?.(r.parent as string);
      case 'ListDesiredStates':
        return undefined;
      default:
        return typeof r.namespace === 'string' ? r.namespace : undefined;
    }
  }

  /** Decides the call `method` (its request decoded, or undefined for other services than IpvsService). */
  open(method: string, call: GuardableCall, req: unknown): GuardedCall {
    const policy = this.o.policy();
    const write = WRITES.has(method) && req !== undefined;
    const audited = write || this.o.auditReads || !!policy?.auditAllowed;
    if (!policy && !audited) return OPEN;
    const namespace = this.namespaceOf(method, req);
    const path = call.getPath();
    let peer: Peer;
    let decision: Decision | undefined;
    let unreadable: string | undefined;
    const unix = this.o.unixPeer?.(call.getPeer());
    try {
      peer = unix ? { tls: false, unix } : peerOf(call.getAuthContext(), this.o.tls);
    } catch (e) {
      // A certificate whose names cannot all be read is judged by none of them.
      peer = { tls: this.o.tls };
      unreadable = (e as Error).message;
    }
    if (policy) {
      decision = unreadable
        ? { allowed: false, policy: policy.name }
        : decide(policy, { path, peer, headers: requestHeaders(call.metadata.toJSON(), namespace) });
    }
    const denied = decision && !decision.allowed;
    if (!denied && !audited) return OPEN;
    const principal = principalName(peer);
    const wait = !denied && write ? (this.o.writeLimit?.take(limitKey(principal, call.getPeer())) ?? 0) : 0;
    const line = {
      principal,
      peer: call.getPeer(),
      method: path,
      namespace,
      decision: decision ? (decision.allowed ? 'allow' : 'deny') : 'allow',
      policy: decision?.policy,
      rule: decision?.rule,
      ...(unreadable ? { error: unreadable } : {}),
    };
    if (denied) {
      this.o.log.warn({ ...line, code: 'PERMISSION_DENIED' }, 'audit');
      return { ...OPEN, denied: new RpcError(status.PERMISSION_DENIED, DENIED_MESSAGE) };
    }
    if (wait > 0) {
      this.o.log.warn({ ...line, code: 'RESOURCE_EXHAUSTED', retryMs: wait }, 'audit');
      return { ...OPEN, denied: rateLimited(this.o.writeLimit!, principal, wait) };
    }
    const notes: Record<string, unknown> = write ? changeOf(method, req as Record<string, unknown>) : {};
    return {
      note: (fields) => Object.assign(notes, fields),
      end: (code) => this.o.log.info({ ...line, code, ...notes }, 'audit'),
    };
  }
}

/**
 * Whose bucket a write takes from: its principal; a peer without one (plain
 * text, TLS without a certificate) by its host, so that one host's writes do
 * not spend another's.
 */
function limitKey(principal: string, peer: string): string {
  return principal || `peer ${peer.replace(/:\d+$/, '')}`;
}

function rateLimited(l: WriteLimiter, principal: string, waitMs: number): RpcError {
  return new RpcError(
    status.RESOURCE_EXHAUSTED,
    `write rate limit: ${principal || 'this client'} may write ${l.perSecond} times a second, ${l.burst} at once ` +
      `(--write-rate-limit); retry in ${(waitMs / 1000).toFixed(3)} s`,
  );
}

/** Ends a denied call of any kind with its status. */
function refuse(call: unknown, callback: unknown, e: RpcError): void {
  const st = { code: e.code, details: e.message };
  if (typeof callback === 'function') (callback as (err: unknown) => void)(st);
  else (call as { emit(ev: string, err: unknown): void }).emit('error', st);
}

/**
 * `server` as health and reflection see it when they add themselves: each
 * handler of theirs passes the guard first (no namespace: they have none);
 * a server stream (health's Watch) holds one of `watchers` until it ends.
 */
export function guardedServer(server: Server, guard: Guard, watchers?: WatcherSlots): Pick<Server, 'addService'> {
  return {
    addService(service: ServiceDefinition, impl: Record<string, UntypedHandleCall>) {
      const guarded: Record<string, UntypedHandleCall> = {};
      for (const [name, handler] of Object.entries(impl)) {
        guarded[name] = ((call: GuardableCall & EventEmitter, callback?: unknown) => {
          // grpc-js finds a handler by the method's name or its originalName (health's "check").
          const def = service[name] ?? Object.values(service).find((d) => d.originalName === name);
          const path = def?.path ?? name;
          const g = guard.open(path, call, undefined);
          if (g.denied) {
            refuse(call, callback, g.denied);
            return;
          }
          g.end();
          if (watchers && def?.responseStream && !def.requestStream) {
            let release: () => void;
            try {
              release = watchers.take(path);
            } catch (e) {
              refuse(call, callback, e as RpcError);
              return;
            }
            call.once('cancelled', release);
            call.once('finish', release);
          }
          (handler as (c: unknown, cb?: unknown) => void)(call, callback);
        }) as UntypedHandleCall;
      }
      server.addService(service, guarded);
    },
  };
}
