import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errnoName, errnoNumber } from '../../src/netlink/errno.js';
import * as linux from '../../src/netlink/linux.js';

type Layout = Readonly<Record<string, number>> & { readonly size: number };

// The C struct behind each layout, and the width of every field it names (the
// reads and writes in socket.ts and ring.ts assume these widths).
const STRUCTS: Record<string, [Layout, string, Record<string, number>]> = {
  IOVEC: [linux.IOVEC, 'struct iovec', { iov_base: 8, iov_len: 8 }],
  MSGHDR: [linux.MSGHDR, 'struct msghdr', { msg_iov: 8, msg_iovlen: 8, msg_flags: 4 }],
  MMSGHDR: [linux.MMSGHDR, 'struct mmsghdr', { msg_hdr: linux.MSGHDR.size, msg_len: 4 }],
  POLLFD: [linux.POLLFD, 'struct pollfd', { fd: 4, events: 2, revents: 2 }],
  SOCKADDR_NL: [linux.SOCKADDR_NL, 'struct sockaddr_nl', { nl_family: 2, nl_pid: 4, nl_groups: 4 }],
  UCRED: [linux.UCRED, 'struct ucred', { pid: 4, uid: 4, gid: 4 }],
  IO_URING_PARAMS: [
    linux.IO_URING_PARAMS,
    'struct io_uring_params',
    {
      sq_entries: 4,
      cq_entries: 4,
      features: 4,
      sq_off: linux.IO_SQRING_OFFSETS.size,
      cq_off: linux.IO_CQRING_OFFSETS.size,
    },
  ],
  IO_SQRING_OFFSETS: [linux.IO_SQRING_OFFSETS, 'struct io_sqring_offsets', { tail: 4, ring_mask: 4, array: 4 }],
  IO_CQRING_OFFSETS: [linux.IO_CQRING_OFFSETS, 'struct io_cqring_offsets', { head: 4, tail: 4, ring_mask: 4, cqes: 4 }],
  IO_URING_SQE: [
    linux.IO_URING_SQE,
    'struct io_uring_sqe',
    {
      opcode: 1,
      flags: 1,
      fd: 4,
      addr: 8,
      len: 4,
      msg_flags: 4,
      user_data: 8,
    },
  ],
  IO_URING_CQE: [linux.IO_URING_CQE, 'struct io_uring_cqe', { user_data: 8, res: 4 }],
  IFADDRMSG: [
    linux.IFADDRMSG,
    'struct ifaddrmsg',
    { ifa_family: 1, ifa_prefixlen: 1, ifa_flags: 1, ifa_scope: 1, ifa_index: 4 },
  ],
  IFINFOMSG: [
    linux.IFINFOMSG,
    'struct ifinfomsg',
    { ifi_family: 1, ifi_type: 2, ifi_index: 4, ifi_flags: 4, ifi_change: 4 },
  ],
};

// Constants whose C name differs from ours.
const C_NAMES: Record<string, string> = {
  SYS_IO_URING_SETUP: '__NR_io_uring_setup',
  SYS_IO_URING_ENTER: '__NR_io_uring_enter',
};

const constants = Object.entries(linux).filter((e): e is [string, number] => typeof e[1] === 'number');
const fields = (layout: Layout) => Object.entries(layout).filter(([k]) => k !== 'size');

describe('Linux ABI table', () => {
  it('has its errno numbers under the names errno.ts gives them', () => {
    for (const name of ['EINTR', 'EIO', 'EAGAIN', 'ENOBUFS'] as const) {
      // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the test walks the whole table by name
      const number = linux[name];
      expect(errnoNumber(name), name).toBe(number);
      expect(errnoName(number)).toBe(name);
    }
  });

  it('lays out every struct it exports, each field inside the struct, aligned, none overlapping', () => {
    const exported = Object.entries(linux)
      .filter(([k, v]) => typeof v === 'object' && k !== 'SIZEOF')
      .map(([k]) => k);
    expect(exported.sort()).toEqual(Object.keys(STRUCTS).sort());
    for (const [name, [layout, , widths]] of Object.entries(STRUCTS)) {
      expect(Object.keys(widths).sort(), name).toEqual(
        fields(layout)
          .map(([k]) => k)
          .sort(),
      );
      const spans = fields(layout)
        .map(([k, at]) => [k, at, at + widths[k]!] as const)
        .sort((a, b) => a[1] - b[1]);
      let end = 0;
      for (const [k, at, stop] of spans) {
        expect(at, `${name}.${k} overlaps the field before it`).toBeGreaterThanOrEqual(end);
        expect(at % Math.min(stop - at, 8), `${name}.${k} is misaligned`).toBe(0);
        expect(stop, `${name}.${k} runs past the struct`).toBeLessThanOrEqual(layout.size);
        end = stop;
      }
    }
  });

  const cc = spawnSync('gcc', ['--version']).status === 0 && existsSync('/usr/include/linux/io_uring.h');
  it.skipIf(!cc || !['x64', 'arm64'].includes(process.arch))('agrees with the C headers on this machine', () => {
    const lines: string[] = [];
    const print = (name: string, expr: string) => lines.push(`  printf("%s %ld\\n", "${name}", (long)(${expr}));`);
    for (const [name, [layout, type]] of Object.entries(STRUCTS)) {
      print(`${name}.size`, `sizeof(${type})`);
      for (const [k] of fields(layout)) {
        print(`${name}.${k}`, `offsetof(${type}, ${k})`);
        print(`${name}.${k}.width`, `sizeof(((${type} *)0)->${k})`);
      }
    }
    for (const t of Object.keys(linux.SIZEOF)) print(`SIZEOF.${t}`, `sizeof(${t})`);
    for (const [name] of constants) print(name, C_NAMES[name] ?? name);
    const source = [
      '#define _GNU_SOURCE',
      ...[
        'stddef.h',
        'stdio.h',
        'errno.h',
        'fcntl.h',
        'poll.h',
        'sched.h',
        'sys/mman.h',
        'sys/socket.h',
        'sys/syscall.h',
        'sys/uio.h',
        'linux/types.h',
        'linux/netlink.h',
        'linux/io_uring.h',
        'linux/if.h',
        'linux/rtnetlink.h',
      ].map((h) => `#include <${h}>`),
      'int main(void) {',
      ...lines,
      '  return 0;',
      '}',
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'ipvsd-linux-'));
    try {
      writeFileSync(join(dir, 'abi.c'), source);
      const built = spawnSync('gcc', ['-o', join(dir, 'abi'), join(dir, 'abi.c')], { encoding: 'utf8' });
      expect(built.status, built.stderr).toBe(0);
      const ran = spawnSync(join(dir, 'abi'), { encoding: 'utf8' });
      const got = Object.fromEntries(
        ran.stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
          .map(([k, v]) => [k!, Number(v)]),
      );
      const want: Record<string, number> = Object.fromEntries(constants);
      for (const [name, [layout, , widths]] of Object.entries(STRUCTS)) {
        want[`${name}.size`] = layout.size;
        for (const [k, at] of fields(layout)) {
          want[`${name}.${k}`] = at;
          want[`${name}.${k}.width`] = widths[k]!;
        }
      }
      for (const [t, n] of Object.entries(linux.SIZEOF)) want[`SIZEOF.${t}`] = n;
      expect(got).toEqual(want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
