import { KernelError } from './error.js';
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY } from './linux.js';
import * as sys from './syscalls.js';

/**
 * Runs `fn` with this thread inside the network namespace at `path`
 * (`/var/run/netns/NAME`, `/proc/PID/ns/net`), then returns the thread to
 * its own namespace before anything else runs, also when `fn` throws.
 * A socket created inside stays bound to that namespace for its life.
 * An empty path means the current namespace.
 */
export function inNetns<T>(path: string, fn: () => T): T {
  if (!path) return fn();
  const own = sys.openPath('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC);
  if (own < 0) throw new KernelError('open own network namespace', -own);
  const target = sys.openPath(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    sys.close(own);
    throw new KernelError(`open network namespace ${path}`, -target);
  }
  try {
    const r = sys.setns(target, CLONE_NEWNET);
    if (r < 0) throw new KernelError(`enter network namespace ${path}`, -r);
    try {
      return fn();
    } finally {
      const back = sys.setns(own, CLONE_NEWNET);
      // Staying in the wrong namespace would silently program the wrong kernel
      // state from then on: that is worse than dying.
      if (back < 0) {
        process.stderr.write(`ipvsd: cannot return to own network namespace (errno ${-back}); aborting\n`);
        process.abort();
      }
    }
  } finally {
    sys.close(target);
    sys.close(own);
  }
}

/**
 * Moves this thread into the network namespace at `path` for good: the
 * prober's child process calls it first, before any socket exists. Only the
 * calling thread moves (setns), and the threads it starts later: threads that
 * already run (libuv's workers, which do name lookups) stay where they were,
 * so the caller opens its sockets from this thread only.
 * An empty path means the current namespace.
 */
export function enterNetns(path: string): void {
  if (!path) return;
  const target = sys.openPath(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) throw new KernelError(`open network namespace ${path}`, -target);
  try {
    const r = sys.setns(target, CLONE_NEWNET);
    if (r < 0) throw new KernelError(`enter network namespace ${path}`, -r);
  } finally {
    sys.close(target);
  }
}
