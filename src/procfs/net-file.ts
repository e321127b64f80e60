// A network namespace's file under /proc/net, read line by line a chunk at
// a time. Such a file shows the namespace of whoever opened it, bound at
// open, and it may be big (ip_vs_conn: a line per connection): it is opened
// with this thread inside the namespace, then read in fixed chunks, each
// line handed over and dropped, so memory stays one chunk and one line
// whatever the file's size, and a reader that has enough stops early.
import { closeSync, openSync, read } from 'node:fs';
import { promisify } from 'node:util';
import { KernelError } from '../netlink/error.js';
import { inNetns } from '../netlink/netns.js';
import { fsError } from './netns-file.js';

const readChunk = promisify(read);

/** Bytes read per system call. */
export const CHUNK_BYTES = 64 * 1024;
const NEWLINE = 10;

/** Refused: a line longer than this is no /proc/net line. */
const MAX_LINE_BYTES = CHUNK_BYTES;

/**
 * Opens /proc/thread-self/net/`name` as the namespace at `netns` ('' for this thread's own) sees it. The thread,
 * not the process (/proc/self): setns moves only the calling thread.
 */
export function openNetFile(netns: string, name: string): number {
  const path = `/proc/thread-self/net/${name}`;
  return inNetns(netns, () => {
    try {
      return openSync(path, 'r');
    } catch (e) {
      throw fsError(`open ${path}${netns ? ` in ${netns}` : ''}`, e);
    }
  });
}

/**
 * Hands each line of the open file `fd` to `line` (without its newline, as latin1 text), in order, until `line`
 * returns false or the file ends; the first `skip` lines are only counted, never made into strings (a page that
 * resumes far into a table passes over them). Reads from where the file is: a /proc file's first read starts at its
 * start.
 */
export async function eachLine(
  fd: number,
  line: (text: string) => boolean,
  chunkBytes = CHUNK_BYTES,
  op = 'read /proc/net',
  skip = 0,
): Promise<void> {
  const chunk = Buffer.allocUnsafe(chunkBytes);
  // The start of a line cut by the end of a chunk, copied out of the chunk that is read over next.
  let rest = Buffer.alloc(0);
  for (;;) {
    let n: number;
    try {
      ({ bytesRead: n } = await readChunk(fd, chunk, 0, chunkBytes, null));
    } catch (e) {
      throw fsError(op, e);
    }
    if (n === 0) {
      if (rest.length && skip === 0) line(rest.toString('latin1'));
      return;
    }
    let from = 0;
    let nl = chunk.indexOf(NEWLINE, 0);
    if (rest.length && (nl < 0 || nl >= n)) {
      if (rest.length + n > MAX_LINE_BYTES)
        throw KernelError.of(op, 'EPROTO', `a line longer than ${MAX_LINE_BYTES} bytes`);
      rest = Buffer.concat([rest, chunk.subarray(0, n)]);
      continue;
    }
    if (rest.length) {
      if (skip > 0) skip--;
      else if (!line(Buffer.concat([rest, chunk.subarray(0, nl)]).toString('latin1'))) return;
      rest = Buffer.alloc(0);
      from = nl + 1;
      nl = chunk.indexOf(NEWLINE, from);
    }
    while (nl >= 0 && nl < n) {
      if (skip > 0) skip--;
      else if (!line(chunk.toString('latin1', from, nl))) return;
      from = nl + 1;
      nl = chunk.indexOf(NEWLINE, from);
    }
    if (from < n) rest = Buffer.from(chunk.subarray(from, n));
  }
}

/** The lines of /proc/net/`name` of the namespace at `netns` after the first `skip`, handed to `line` until it returns false. */
export async function readNetLines(
  netns: string,
  name: string,
  line: (text: string) => boolean,
  skip = 0,
  chunkBytes = CHUNK_BYTES,
): Promise<void> {
  const fd = openNetFile(netns, name);
  try {
    await eachLine(fd, line, chunkBytes, `read /proc/net/${name}${netns ? ` in ${netns}` : ''}`, skip);
  } finally {
    closeSync(fd);
  }
}
