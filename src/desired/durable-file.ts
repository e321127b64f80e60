// Whole-file replacement that survives a crash at any instant: the file's name always holds the old bytes or the new,
// never a mix, and nothing is reported done before it is on disk. The classic recipe, spelled out:
//   1. write a temporary file in the same directory (O_EXCL, a name no one else uses), fsync it;
//   2. keep the current file as the last good one: link it to a second temporary name, rename that over `keep`
//      (a hard link, so the current name never stops existing, and a rename, so `keep` is replaced atomically);
//   3. rename the temporary file over the current name (atomic on POSIX file systems);
//   4. fsync the directory, which makes the renames durable.
// A crash leaves at most temporary files behind; their names start with "." and end with ".tmp" (`isTemporary`),
// and whoever opens the directory removes them without reading them.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StoreError, errnoOf } from './error.js';

let serial = 0;

/** A fresh temporary name for `file` in its directory: hidden, unique to this process and call, random besides. */
function temporary(dir: string, file: string, role: string): string {
  return join(dir, `.${file}.${role}.${process.pid}-${++serial}-${randomBytes(4).toString('hex')}.tmp`);
}

export function isTemporary(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/** The failure of `step` on `path`, told for the operator, with the errno kept. */
function failed(path: string, step: string, e: unknown): StoreError {
  return new StoreError(path, `could not be written (${step}): ${(e as Error).message}`, {
    code: errnoOf(e),
    cause: e,
  });
}

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => {});
}

/** fsync a directory, so that the names created, renamed or removed in it are durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export interface ReplaceOptions {
  /** The name, in the same directory, that keeps the version being replaced; on a create, a stale one is removed. */
  keep?: string;
  /** Called once the new bytes are visible under `file` (before the directory is synced, which may still fail). */
  visible?: () => void;
}

/** Replaces (or creates) `dir/file` with `data`, durably, as the header says. Rejects with a StoreError. */
export async function replaceFile(dir: string, file: string, data: Uint8Array, o: ReplaceOptions = {}): Promise<void> {
  const path = join(dir, file);
  const tmp = temporary(dir, file, 'new');
  let step = 'creating a temporary file';
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      step = 'writing the temporary file';
      await fh.writeFile(data);
      step = 'syncing the temporary file';
      await fh.sync();
    } finally {
      await fh.close();
    }
    let created = false;
    if (o.keep !== undefined) {
      step = 'keeping the last good version';
      const held = temporary(dir, file, 'prev');
      try {
        await link(path, held);
      } catch (e) {
        if (errnoOf(e) !== 'ENOENT') throw e;
        created = true;
      }
      if (!created) {
        try {
          await rename(held, join(dir, o.keep));
        } catch (e) {
          await removeQuietly(held);
          throw e;
        }
      }
    }
    step = 'renaming the temporary file into place';
    await rename(tmp, path);
    o.visible?.();
    // A keep left by an earlier life of this name (see removeFile) is no version of this one. Quietly: should it
    // stay, it only offers a version that was deleted, and says its generation.
    if (created && o.keep !== undefined) await removeQuietly(join(dir, o.keep));
    step = 'syncing the directory';
    await syncDirectory(dir);
  } catch (e) {
    await removeQuietly(tmp);
    throw failed(path, step, e);
  }
}

/**
 * Removes `dir/file` durably. With `keep`, the file is renamed to it instead (one atomic step, so the removed version
 * stays readable as the last good one). Resolves false if there was no such file. Rejects with a StoreError.
 */
export async function removeFile(dir: string, file: string, o: ReplaceOptions = {}): Promise<boolean> {
  const path = join(dir, file);
  let step = 'removing it';
  try {
    try {
      if (o.keep !== undefined) await rename(path, join(dir, o.keep));
      else await unlink(path);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return false;
      throw e;
    }
    o.visible?.();
    step = 'syncing the directory';
    await syncDirectory(dir);
    return true;
  } catch (e) {
    throw failed(path, step, e);
  }
}

/**
 * Creates `dir` (mode 0700, and any missing parents) if it does not exist, and syncs the parent of each directory it
 * created, so that a state written into it cannot vanish with its directory in a crash.
 */
export async function makeDirectory(dir: string): Promise<void> {
  let first: string | undefined;
  try {
    first = await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StoreError(dir, `cannot be created as the state directory: ${(e as Error).message}`, {
      code: errnoOf(e),
      cause: e,
    });
  }
  if (first === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    await syncDirectory(dirname(d));
    if (d === first) break;
  }
}
