// The desired states on disk: one file per state, `<dir>/<id>.json` (format.ts), replaced durably (durable-file.ts),
// with the version before it kept beside it as `<id>.prev.json`, so that a file that stops the start is recovered
// with one `mv`. The store holds every state in memory, as the disk has it, and writes one at a time in call order.
//
// Names in the directory:
//   <id>.json       a desired state; loaded at open, and a file that does not load stops the open;
//   <id>.prev.json  the version <id>.json replaced (or, after a delete, the deleted one); never loaded;
//   .*.tmp          a write in progress, or one a crash cut short; removed at open, never read;
//   anything else   ignored (and listed in `ignored`): README files, `x.json.bad` moved aside by an operator,
//                   names that are no id (upper case, dots), directories not named like a state.
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makeDirectory, isTemporary, removeFile, replaceFile } from './durable-file.js';
import { StoreError, errnoOf, shellQuote } from './error.js';
import { decodeState, encodeState, ID, idOf, nameOf, type StoredDesiredState } from './format.js';

export { StoreError } from './error.js';
export type { StoredDesiredState } from './format.js';

export type Validate = (s: StoredDesiredState) => void;

/** Files read at once at open: enough to keep the disk busy, few enough to leave file descriptors for the rest. */
const READ_AHEAD = 32;

const CURRENT = /^(.+)\.json$/;
const PREVIOUS = /^(.+)\.prev\.json$/;

type Loaded = { ok: true; s: StoredDesiredState } | { ok: false; e: StoreError };

/** Deep-frozen: what get and list return is shared, and must not change under the store. */
function frozen<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) frozen(x);
  }
  return v;
}

/** What validate threw, as a StoreError about `path`. */
function refused(path: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  return new StoreError(path, `is not a valid desired state: ${e instanceof Error ? e.message : String(e)}`, {
    cause: e,
  });
}

async function loadFile(path: string, id: string, validate: Validate | undefined): Promise<StoredDesiredState> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new StoreError(path, `cannot be read: ${(e as Error).message}`, { code: errnoOf(e), cause: e });
  }
  const s = decodeState(bytes, path, id);
  try {
    validate?.(s);
  } catch (e) {
    throw refused(path, e);
  }
  return s;
}

export class DesiredStore {
  private readonly states = new Map<string, StoredDesiredState>();
  /** list()'s answer, until the next write. */
  private sorted: StoredDesiredState[] | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    /** The state directory, absolute. */
    readonly dir: string,
    /** Names in it that are no state, no last good version and no temporary file: left alone (see the header). */
    readonly ignored: readonly string[],
    private readonly validate: Validate | undefined,
  ) {}

  /**
   * Loads every state in `dir` (created 0700 if missing). A file that cannot be read, does not decode, holds another
   * state than its name says or that `validate` refuses throws a StoreError naming the file, the reason, and the
   * recovery: `mv <id>.prev.json <id>.json` when a valid last good version is kept, else moving the file aside.
   * Temporary files left by a crash are removed unread.
   */
  static async open(dir: string, validate?: Validate): Promise<DesiredStore> {
    const abs = resolve(dir);
    await makeDirectory(abs);
    let names: string[];
    try {
      names = (await readdir(abs)).sort();
    } catch (e) {
      throw new StoreError(abs, `cannot be read as the state directory: ${(e as Error).message}`, {
        code: errnoOf(e),
        cause: e,
      });
    }
    const ids: string[] = [];
    const ignored: string[] = [];
    for (const n of names) {
      const prev = PREVIOUS.exec(n)?.[1];
      const cur = CURRENT.exec(n)?.[1];
      if (isTemporary(n)) await unlink(join(abs, n)).catch(() => {});
      else if (prev !== undefined && ID.test(prev)) continue;
      else if (cur !== undefined && ID.test(cur)) ids.push(cur);
      else ignored.push(n);
    }
    const store = new DesiredStore(abs, ignored, validate);
    const prevs = new Set(names.filter((n) => PREVIOUS.test(n)));
    for (let i = 0; i < ids.length; i += READ_AHEAD) {
      const batch = ids.slice(i, i + READ_AHEAD);
      const loaded = await Promise.all(
        batch.map((id): Promise<Loaded> => {
          return loadFile(join(abs, `${id}.json`), id, validate).then(
            (s) => ({ ok: true, s }),
            (e: StoreError) => ({ ok: false, e }),
          );
        }),
      );
      for (const [k, l] of loaded.entries()) {
        if (!l.ok) throw await store.withRecovery(l.e, batch[k]!, prevs.has(`${batch[k]}.prev.json`));
        store.states.set(l.s.name, frozen(l.s));
      }
    }
    return store;
  }

  /** The error of a file that stops the open, with what to do about it. */
  private async withRecovery(e: StoreError, id: string, hasPrev: boolean): Promise<StoreError> {
    const path = join(this.dir, `${id}.json`);
    const prev = join(this.dir, `${id}.prev.json`);
    const aside = `or move it aside to start without ${nameOf(id)}: mv ${shellQuote(path)} ${shellQuote(`${path}.bad`)}`;
    if (!hasPrev) return e.withRecovery(`No earlier version of it is kept; fix it, ${aside}`);
    try {
      const last = await loadFile(prev, id, this.validate);
      return e.withRecovery(
        `Its last good version (generation ${last.generation}) is kept beside it; ` +
          `restore it with: mv ${shellQuote(prev)} ${shellQuote(path)}`,
      );
    } catch (p) {
      const why = p instanceof StoreError ? p.reason : String(p);
      return e.withRecovery(`The version kept beside it, ${prev}, ${why} too; fix one of them, ${aside}`);
    }
  }

  /** Every state, in name order. The states are frozen: copy one to change it. */
  list(): StoredDesiredState[] {
    this.sorted ??= [...this.states.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return [...this.sorted];
  }

  /** The state of that name, frozen, or undefined. */
  get(name: string): StoredDesiredState | undefined {
    return this.states.get(name);
  }

  /** Runs `job` after every earlier write has finished (or failed). */
  private serial(job: () => Promise<void>): Promise<void> {
    const run = this.tail.then(job);
    this.tail = run.catch(() => {});
    return run;
  }

  /**
   * Creates or replaces `s.name`, durable before it resolves (durable-file.ts): temporary file, fsync, the current
   * file kept as `<id>.prev.json` by link and rename (so `<id>.json` exists at every instant), rename over it, fsync
   * the directory. The state is taken as it is at the call (later changes to `s` do not count) and as the file will
   * read back (JSON's own conversions), and it must pass `validate` like any file open loads, or nothing is written.
   * Rejects with a TypeError for a bad name, generation or spec, and with a StoreError (its `code` the errno, e.g.
   * ENOSPC) when the disk refuses. A failed put leaves get and list as the disk has it: unchanged, except after a
   * failed directory sync, when the new version is visible (and is what the next open would most likely load).
   */
  put(s: StoredDesiredState): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = encodeState(s);
    } catch (e) {
      return Promise.reject(e);
    }
    const id = idOf(s.name)!;
    const path = join(this.dir, `${id}.json`);
    let next: StoredDesiredState;
    try {
      next = frozen(decodeState(bytes, path, id));
      this.validate?.(next);
    } catch (e) {
      return Promise.reject(refused(path, e));
    }
    return this.serial(() =>
      replaceFile(this.dir, `${id}.json`, bytes, {
        keep: `${id}.prev.json`,
        visible: () => this.set(next.name, next),
      }),
    );
  }

  /**
   * Forgets `name`, durable before it resolves: `<id>.json` is renamed to `<id>.prev.json` (so that an operator can
   * undo the delete with one `mv` until a state of that name is created again, which drops it) and the directory
   * synced. Deleting a name the store does not hold does nothing. Rejects with a StoreError when the disk refuses.
   */
  delete(name: string): Promise<void> {
    return this.serial(async () => {
      const id = idOf(name);
      if (id === undefined || !this.states.has(name)) return;
      const forget = () => this.set(name, undefined);
      // Gone already (which only another writer could have done): the disk has it so, and so does the view.
      if (!(await removeFile(this.dir, `${id}.json`, { keep: `${id}.prev.json`, visible: forget }))) forget();
    });
  }

  private set(name: string, s: StoredDesiredState | undefined): void {
    if (s) this.states.set(name, s);
    else this.states.delete(name);
    this.sorted = undefined;
  }
}
