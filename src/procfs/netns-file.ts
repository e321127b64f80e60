// Files of /proc that belong to a network namespace (/proc/sys/net/*,
// /proc/net/*): the kernel binds such a file to the namespace of the thread
// that opens it, so each one is opened here with the thread inside the
// namespace (inNetns, synchronous: Node's *Sync calls run on this thread).
// Nothing here knows what the files mean.
import { closeSync, constants, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { KernelError } from '../netlink/error.js';
import { inNetns } from '../netlink/netns.js';

/** The largest file read whole (sysctl values are a few bytes). */
const MAX_READ = 64 * 1024;

/** A refusal of the file system as the one kernel error class: `op` says what was done to which file. */
export function fsError(op: string, e: unknown): KernelError {
  const errno = (e as NodeJS.ErrnoException).errno;
  if (typeof errno !== 'number') throw e;
  return new KernelError(op, -errno);
}

function readWhole(fd: number): string {
  const buf = Buffer.allocUnsafe(MAX_READ);
  let n = 0;
  for (let got = 1; got > 0 && n < MAX_READ; n += got) got = readSync(fd, buf, n, MAX_READ - n, null);
  return buf.toString('utf8', 0, n);
}

/** The names in directory `dir` as the namespace at `netns` ('' for the server's own) sees it, sorted. */
export function listIn(netns: string, dir: string): string[] {
  return inNetns(netns, () => {
    try {
      return readdirSync(dir).sort();
    } catch (e) {
      throw fsError(`list ${dir}`, e);
    }
  });
}

/** Each file of `paths`, read whole in the namespace at `netns`. */
export function readIn(netns: string, paths: readonly string[]): string[] {
  return inNetns(netns, () =>
    paths.map((path) => {
      let fd: number;
      try {
        fd = openSync(path, constants.O_RDONLY);
      } catch (e) {
        throw fsError(`open ${path}`, e);
      }
      try {
        return readWhole(fd);
      } catch (e) {
        throw fsError(`read ${path}`, e);
      } finally {
        closeSync(fd);
      }
    }),
  );
}

export interface FileWrite {
  path: string;
  text: string;
}

/**
 * Writes each text to its file in the namespace at `netns`, in order, each in one write(2). Every file is opened
 * before the first write, so a file that is missing or not writable refuses all of them; a write the kernel refuses
 * (its `index` set) stops the rest, the ones before it stay written.
 */
export function writeIn(netns: string, writes: readonly FileWrite[]): void {
  inNetns(netns, () => {
    const fds: number[] = [];
    try {
      for (const w of writes) {
        try {
          // No O_CREAT or O_TRUNC: what is written is the kernel's, never a new file.
          fds.push(openSync(w.path, constants.O_WRONLY));
        } catch (e) {
          throw fsError(`open ${w.path}`, e);
        }
      }
      writes.forEach((w, i) => {
        try {
          writeSync(fds[i]!, w.text);
        } catch (e) {
          const k = fsError(`write ${w.path}`, e);
          throw new KernelError(k.op, k.code, k.detail, i);
        }
      });
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });
}
