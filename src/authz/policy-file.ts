// --authz-policy FILE: read at start (a bad file stops the start), then
// watched and read again when it changes. fs.watch on its directory catches
// an edit or an atomic rename at once; a stat every pollMs catches what
// fs.watch misses (network file systems, a ConfigMap's symlink swap). A new
// text that does not parse is refused with a log line naming the error, and
// the policy loaded before stays in force, as gRFC A43 asks.
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { PolicyError } from './error.js';
import { parsePolicy, type Policy } from './policy.js';

/** The file's text, or a PolicyError saying why it cannot be read. */
function readPolicy(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyError('', `cannot read: ${(e as Error).message}`);
  }
}

/** The policy in `file` and its text; throws PolicyError naming the file. */
export function readPolicyFile(file: string): { policy: Policy; text: string } {
  try {
    const text = readPolicy(file);
    return { policy: parsePolicy(text), text };
  } catch (e) {
    throw e instanceof PolicyError ? e.in(file) : e;
  }
}

const stamp = (file: string) => {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
};

/** fs.watch on the file's directory (an editor's rename replaces the file itself); undefined without inotify. */
function watchDirectory(file: string, changed: () => void): FSWatcher | undefined {
  try {
    const w = watch(dirname(file), (_event, name) => {
      // A ConfigMap swaps its ..data symlink; the file's own name changes with an edit or a rename.
      if (!name || name === basename(file) || name.startsWith('..')) changed();
    });
    w.on('error', () => w.close());
    return w;
  } catch {
    // The stat of every period still sees each change, a period later.
    return undefined;
  }
}

export interface PolicyFileOptions {
  /** How often the file is stat'ed besides fs.watch, ms. */
  pollMs?: number;
  /** false: the periodic stat alone, no fs.watch (where inotify is scarce). Default true. */
  watch?: boolean;
  /** Told of every policy put in force by a reload. */
  onReload?: (p: Policy) => void;
}

export class PolicyFile {
  private current: Policy;
  private text: string;
  private seen: string;
  private watcher?: FSWatcher;
  private readonly timer: NodeJS.Timeout;
  private pending?: NodeJS.Timeout;

  /** Loads the file now: throws PolicyError if it cannot be read or is not a valid policy. */
  constructor(
    readonly file: string,
    private readonly log: Logger,
    private readonly o: PolicyFileOptions = {},
  ) {
    this.seen = stamp(file);
    ({ policy: this.current, text: this.text } = readPolicyFile(file));
    if (o.watch !== false) this.watcher = watchDirectory(file, () => this.soon());
    this.timer = setInterval(() => {
      if (stamp(file) !== this.seen) this.soon();
    }, o.pollMs ?? 1000);
    this.timer.unref();
  }

  /** The policy in force. */
  get policy(): Policy {
    return this.current;
  }

  /** A burst of events (an editor's write and rename) is read once. */
  private soon(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.reload();
    }, 20);
    this.pending.unref();
  }

  /** Reads the file again: true if a new policy is in force, false if it is unchanged or was refused. */
  reload(): boolean {
    this.seen = stamp(this.file);
    let text: string;
    let next: Policy;
    try {
      text = readPolicy(this.file);
      if (text === this.text) return false;
      next = parsePolicy(text);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      this.log.error(
        { file: this.file, err: e.message, at: e.path, policy: this.current.name },
        'authorization policy reload refused: the policy loaded before stays in force',
      );
      return false;
    }
    this.text = text;
    this.current = next;
    this.log.info(
      { file: this.file, policy: next.name, denyRules: next.denyRules.length, allowRules: next.allowRules.length },
      'authorization policy reloaded',
    );
    this.o.onReload?.(next);
    return true;
  }

  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.pending);
    this.watcher?.close();
  }
}
