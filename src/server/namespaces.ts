// Which network namespaces a request may name, and one open Handle per
// namespace, reopened when the name comes to mean another namespace.
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Handle } from '../ipvs/index.js';
import { RpcError } from './status.js';

/** Where `ip netns` keeps named namespaces. */
export const NETNS_DIR = '/run/netns';
/** In an allow list: every name under /run/netns. */
export const ANY_NAMED = '*';
const NAME = /^(?!\.\.?$)[A-Za-z0-9_.-]{1,64}$/;

/**
 * A request's namespace in one spelling, so that a policy's rule on it cannot
 * be passed by writing it another way: a name under /run/netns as its name
 * ("web" for "web" and for "/run/netns/web"), anything else as written.
 */
export function namespaceName(ns: string): string {
  const name = ns.startsWith(`${NETNS_DIR}/`) ? ns.slice(NETNS_DIR.length + 1) : undefined;
  return name !== undefined && NAME.test(name) ? name : ns;
}

interface Open {
  handle: Handle;
  /** dev:ino of the namespace when the handle was opened. */
  identity: string;
}

export class Namespaces {
  private readonly open = new Map<string, Open>();
  private readonly allowAnyNamed: boolean;
  private readonly allowed: Set<string>;

  /**
   * `allow`: names under /run/netns, absolute paths, or "*" for every name.
   * The server's own namespace ("") is always allowed.
   */
  constructor(allow: readonly string[]) {
    this.allowAnyNamed = allow.includes(ANY_NAMED);
    this.allowed = new Set(allow.filter((a) => a !== ANY_NAMED).map((a) => this.pathOf(a)));
  }

  /** The path a request's namespace names ("" for the server's own), if it is allowed. */
  resolve(ns: string): string {
    if (ns === '') return '';
    const path = this.pathOf(ns);
    const named = path.startsWith(`${NETNS_DIR}/`) && NAME.test(path.slice(NETNS_DIR.length + 1));
    if (!this.allowed.has(path) && !(this.allowAnyNamed && named)) {
      throw new RpcError(
        status.PERMISSION_DENIED,
        `network namespace ${JSON.stringify(ns)} is not allowed by this server (see --netns)`,
        'namespace',
      );
    }
    return path;
  }

  /** The Handle of an allowed namespace; NOT_FOUND once the namespace is gone. */
  handle(ns: string): Handle {
    const path = this.resolve(ns);
    const identity = path ? this.identity(ns, path) : '';
    const cur = this.open.get(path);
    if (cur && cur.identity === identity && !cur.handle.closed) return cur.handle;
    cur?.handle.close();
    this.open.delete(path);
    // The server will list this namespace (watchers, metrics, Apply): its dump sockets open with it.
    const handle = new Handle(path, { listingsReady: true });
    this.open.set(path, { handle, identity });
    return handle;
  }

  /**
   * After a call on `ns`: NOT_FOUND (and the handle closed) when the
   * namespace was deleted or replaced while it ran. Its socket kept the old
   * namespace alive, so the call's writes went to a namespace nobody sees.
   */
  confirm(ns: string): void {
    const path = this.resolve(ns);
    const cur = this.open.get(path);
    if (!path || !cur) return;
    let now = '';
    try {
      now = this.identity(ns, path);
    } catch {
      throw new RpcError(
        status.NOT_FOUND,
        `network namespace ${JSON.stringify(ns)} was deleted while the call ran; what it changed went with it`,
        'namespace',
      );
    }
    if (now !== cur.identity) {
      cur.handle.close();
      this.open.delete(path);
      throw new RpcError(
        status.NOT_FOUND,
        `network namespace ${JSON.stringify(ns)} was replaced while the call ran; what it changed went to the old one`,
        'namespace',
      );
    }
  }

  closeAll(): void {
    for (const { handle } of this.open.values()) handle.close();
    this.open.clear();
  }

  private pathOf(ns: string): string {
    if (isAbsolute(ns)) return ns;
    if (!NAME.test(ns))
      throw new RpcError(
        status.INVALID_ARGUMENT,
        `${JSON.stringify(ns)} is not a namespace name or an absolute path`,
        'namespace',
      );
    return `${NETNS_DIR}/${ns}`;
  }

  private identity(ns: string, path: string): string {
    try {
      const st = statSync(path);
      return `${st.dev}:${st.ino}`;
    } catch {
      // The handle (its socket keeps the old namespace alive) is of no use now.
      const cur = this.open.get(path);
      cur?.handle.close();
      this.open.delete(path);
      throw new RpcError(status.NOT_FOUND, `network namespace ${JSON.stringify(ns)} does not exist`, 'namespace');
    }
  }
}
