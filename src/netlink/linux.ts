// Linux ABI numbers for x86-64 and arm64 (LP64, little-endian; both take
// these from asm-generic), from <errno.h>, <sys/socket.h>, <linux/netlink.h>,
// <poll.h>, <sys/mman.h>, <fcntl.h>, <sched.h>, <asm-generic/unistd.h>,
// <linux/io_uring.h>, <linux/rtnetlink.h> (with <linux/if_addr.h> and
// <linux/if_link.h>) and <linux/if.h>. Structs laid out by hand are byte offsets named after
// the kernel's fields, with `size` their sizeof; only the fields we touch.
// test/unit/linux.test.ts checks all of it against the headers.

// errno numbers for the hot paths; errno.ts names them all.
export const EINTR = 4;
export const EIO = 5;
export const EAGAIN = 11;
export const ENOBUFS = 105;

export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
// Type flags for socket(2), the same bits as O_NONBLOCK and O_CLOEXEC.
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
// The credentials of a unix socket's peer, as they were when it connected (struct ucred).
export const SO_PEERCRED = 17;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;

export const POLLIN = 1;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_POPULATE = 0x8000;

export const O_RDONLY = 0;
export const O_CLOEXEC = 0x80000;
export const CLONE_NEWNET = 0x40000000;

// The same numbers on every architecture (the unified table, Linux 5.1).
export const SYS_IO_URING_SETUP = 425;
export const SYS_IO_URING_ENTER = 426;

export const IORING_FEAT_SINGLE_MMAP = 1;
// mmap offsets that pick which of the ring's regions to map.
export const IORING_OFF_SQ_RING = 0;
export const IORING_OFF_CQ_RING = 0x8000000;
export const IORING_OFF_SQES = 0x10000000;
export const IORING_ENTER_GETEVENTS = 1;
export const IORING_OP_SEND = 26;
export const IORING_OP_RECV = 27;
export const IOSQE_IO_LINK = 1 << 2;

/** Scalars written by hand: setsockopt's int, getsockname's length, the SQ ring's index array. */
export const SIZEOF = { int: 4, socklen_t: 4, __u32: 4 } as const;

export const IOVEC = { size: 16, iov_base: 0, iov_len: 8 } as const;
export const MSGHDR = { size: 56, msg_iov: 16, msg_iovlen: 24, msg_flags: 48 } as const;
// recvmmsg's vector entry: a msghdr, then the datagram's length, padded to 8.
export const MMSGHDR = { size: 64, msg_hdr: 0, msg_len: 56 } as const;
export const POLLFD = { size: 8, fd: 0, events: 4, revents: 6 } as const;
export const SOCKADDR_NL = { size: 12, nl_family: 0, nl_pid: 4, nl_groups: 8 } as const;
export const UCRED = { size: 12, pid: 0, uid: 4, gid: 8 } as const;

// io_uring_setup fills these in: where, inside the mapped rings, each field lives.
export const IO_URING_PARAMS = {
  size: 120,
  sq_entries: 0,
  cq_entries: 4,
  features: 20,
  sq_off: 40,
  cq_off: 80,
} as const;
export const IO_SQRING_OFFSETS = { size: 40, tail: 4, ring_mask: 8, array: 24 } as const;
export const IO_CQRING_OFFSETS = { size: 40, head: 0, tail: 4, ring_mask: 8, cqes: 20 } as const;
export const IO_URING_SQE = {
  size: 64,
  opcode: 0,
  flags: 1,
  fd: 4,
  addr: 16,
  len: 24,
  msg_flags: 28,
  user_data: 32,
} as const;
export const IO_URING_CQE = { size: 16, user_data: 0, res: 8 } as const;

// Netlink attributes (linux/netlink.h): a 4-byte header, then the value.
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
/** As the kernel writes it: the type without those two flags. */
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

// Header flags of new-object requests (linux/netlink.h): the bits Conn leaves as the request set them.
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

// Route netlink (linux/rtnetlink.h): the protocol, and the message types of links and addresses.
export const NETLINK_ROUTE = 0;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

/** struct ifaddrmsg (linux/if_addr.h): the family header of address messages. */
export const IFADDRMSG = {
  size: 8,
  ifa_family: 0,
  ifa_prefixlen: 1,
  ifa_flags: 2,
  ifa_scope: 3,
  ifa_index: 4,
} as const;
// Address attributes.
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_BROADCAST = 4;
export const IFA_FLAGS = 8;
// Address flags (ifa_flags holds the low 8 bits; IFA_FLAGS all 32).
export const IFA_F_SECONDARY = 0x01;
export const IFA_F_NODAD = 0x02;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;
// Address scopes (enum rt_scope_t).
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_SITE = 200;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;

/** struct ifinfomsg (linux/rtnetlink.h): the family header of link messages. */
export const IFINFOMSG = {
  size: 16,
  ifi_family: 0,
  ifi_type: 2,
  ifi_index: 4,
  ifi_flags: 8,
  ifi_change: 12,
} as const;
// Link attributes (linux/if_link.h).
export const IFLA_IFNAME = 3;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;
/** Link flags (linux/if.h): administratively up. */
export const IFF_UP = 0x1;
/** An interface name's bytes with its NUL (linux/if.h). */
export const IFNAMSIZ = 16;
