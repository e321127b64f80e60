// The IPVS sysctls of Linux 6.1 (net.ipv4.vs.*, /proc/sys/net/ipv4/vs/NAME): each one's kind and the range
// its kernel handler enforces (net/netfilter/ipvs/ip_vs_ctl.c: vs_vars and its proc handlers; confirmed by
// writing out-of-range values in user-mode Linux, test/kernel/sysctls.test.ts), with its meaning from
// Documentation/networking/ipvs-sysctl.rst. Values are decimal text as the kernel prints them, checked against a
// spec by sysctl-value.ts.

/**
 * How a value is written and read:
 * - integer: one int (proc_dointvec: the int range; proc_dointvec_minmax: its bounds);
 * - boolean: one int, 0 off and any other value on (proc_dointvec takes any int);
 * - defense: a defense mode, 0 never, 1 and 2 automatic (the kernel flips 1 and 2 as memory runs short, so
 *   either one written reads back as either), 3 always (proc_do_defense_mode: EINVAL outside 0..3);
 * - pair: two ints, sync_threshold's "threshold period" (proc_do_sync_threshold);
 * - seconds: one int of seconds held in jiffies (proc_dointvec_jiffies: |value| at most INT_MAX/HZ);
 * - unsigned-long: one unsigned long (proc_doulongvec_minmax);
 * - power-of-two: one int that is a power of two (proc_do_sync_ports).
 */
export type SysctlKind = 'integer' | 'boolean' | 'defense' | 'pair' | 'seconds' | 'unsigned-long' | 'power-of-two';

export interface SysctlSpec {
  /** As `sysctl` names it without "net.ipv4.vs.". */
  name: string;
  kind: SysctlKind;
  /** The least value (each of a pair's). */
  min: bigint;
  /** The greatest value (each of a pair's). */
  max: bigint;
  /** What a value counts, when it counts something. */
  unit?: string;
  /** The kernel's value in a new namespace, as it prints it; "" where it depends on the machine. */
  byDefault: string;
  /**
   * False for the one that is the whole kernel's (debug_level): the kernel makes it read-only in every namespace but
   * the initial one (EACCES), where setting it sets it for all.
   */
  perNamespace: boolean;
  /** The module that adds it, when ip_vs alone does not. */
  module?: string;
  /** What it does, in short. */
  about: string;
}

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
/**
 * Seconds in jiffies: the kernel takes |value| up to INT_MAX/HZ (21474836 s at HZ=100, as in the test guest;
 * 2147483 s at HZ=1000, the largest HZ): ipvsd takes what every HZ allows, as SetConfig does.
 */
const SECONDS_MAX = INT_MAX / 1000n;
const ULONG_MAX = 2n ** 64n - 1n;

type Entry = Omit<SysctlSpec, 'min' | 'max' | 'perNamespace'> &
  Partial<Pick<SysctlSpec, 'min' | 'max' | 'perNamespace'>>;

const BOUNDS: Record<SysctlKind, [bigint, bigint]> = {
  integer: [INT_MIN, INT_MAX],
  boolean: [INT_MIN, INT_MAX],
  defense: [0n, 3n],
  pair: [0n, INT_MAX],
  seconds: [-SECONDS_MAX, SECONDS_MAX],
  'unsigned-long': [0n, ULONG_MAX],
  'power-of-two': [1n, 2n ** 30n],
};

const ENTRIES: Entry[] = [
  {
    name: 'am_droprate',
    kind: 'integer',
    byDefault: '10',
    about: 'drop_packet mode 3 drops 1 packet in this many',
  },
  {
    name: 'amemthresh',
    kind: 'integer',
    unit: 'pages',
    byDefault: '1024',
    about: 'available memory under which the automatic defense modes (1, 2) turn on',
  },
  {
    name: 'backup_only',
    kind: 'boolean',
    byDefault: '0',
    about: 'no load balancing while a backup sync daemon runs (no DR/TUN packet loops)',
  },
  {
    name: 'cache_bypass',
    kind: 'boolean',
    byDefault: '0',
    about: 'with no real server available, forward packets to their original (non-local) destination',
  },
  {
    name: 'conn_reuse_mode',
    kind: 'integer',
    byDefault: '1',
    about:
      'a bitmap for a connection that reuses a port: 0 the same real server; bit 1 rescheduled when safe (TIME_WAIT, expire_nodest_conn); bit 2 also from FIN_WAIT',
  },
  {
    name: 'conntrack',
    kind: 'boolean',
    byDefault: '0',
    about: "keep netfilter conntrack entries for IPVS connections (needed by stateful iptables rules, kube-proxy's)",
  },
  {
    name: 'debug_level',
    kind: 'integer',
    byDefault: '0',
    perNamespace: false,
    about:
      "kernel log verbosity, 0 (transmission errors) to 12+ (packet traversal); the whole kernel's, set from the initial namespace only",
  },
  {
    name: 'drop_entry',
    kind: 'defense',
    byDefault: '0',
    about: 'defense: drop SYN-RECV connection entries at random to free memory',
  },
  {
    name: 'drop_packet',
    kind: 'defense',
    byDefault: '0',
    about: 'defense: drop 1/rate packets before forwarding (mode 3: 1/am_droprate)',
  },
  {
    name: 'expire_nodest_conn',
    kind: 'boolean',
    byDefault: '0',
    about: 'expire a connection at its next packet once its real server is deleted (else packets are dropped)',
  },
  {
    name: 'expire_quiescent_template',
    kind: 'boolean',
    byDefault: '0',
    about: 'expire persistence templates of a real server at weight 0',
  },
  {
    name: 'ignore_tunneled',
    kind: 'boolean',
    byDefault: '0',
    about: 'mark packets of unknown protocols (ipip) as IPVS-handled: no rescheduling of tunneled packets',
  },
  {
    name: 'lblc_expiration',
    kind: 'seconds',
    unit: 'seconds',
    byDefault: '86400',
    module: 'ip_vs_lblc',
    about: 'lblc scheduler: an idle destination entry is dropped after this long',
  },
  {
    name: 'lblcr_expiration',
    kind: 'seconds',
    unit: 'seconds',
    byDefault: '86400',
    module: 'ip_vs_lblcr',
    about: 'lblcr scheduler: an idle destination set is dropped after this long',
  },
  {
    name: 'nat_icmp_send',
    kind: 'boolean',
    byDefault: '0',
    about: 'NAT: answer ICMP unreachable to real-server packets of unknown connections',
  },
  {
    name: 'pmtu_disc',
    kind: 'boolean',
    byDefault: '1',
    about: 'refuse with FRAG_NEEDED the DF packets over the path MTU (0: TUN fragments them)',
  },
  {
    name: 'run_estimation',
    kind: 'boolean',
    byDefault: '1',
    about: 'rate estimation (the rates of stats); 0 stops it',
  },
  {
    name: 'schedule_icmp',
    kind: 'boolean',
    byDefault: '0',
    about: 'schedule ICMP packets of no connection (ping to a VIP) as new connections',
  },
  {
    name: 'secure_tcp',
    kind: 'defense',
    byDefault: '0',
    about: 'defense: a stricter TCP state table (NAT: ESTABLISHED only after the handshake)',
  },
  {
    name: 'sloppy_sctp',
    kind: 'boolean',
    byDefault: '0',
    about: 'create SCTP connections from any packet, not only INIT (takeover by a backup)',
  },
  {
    name: 'sloppy_tcp',
    kind: 'boolean',
    byDefault: '0',
    about: 'create TCP connections from any packet, not only SYN (takeover by a backup)',
  },
  {
    name: 'snat_reroute',
    kind: 'boolean',
    byDefault: '1',
    about: 'route NAT replies as if sent by the director (policy routing); 0 saves the lookup',
  },
  {
    name: 'sync_persist_mode',
    kind: 'integer',
    byDefault: '0',
    about: 'sync: 0 every connection; 1 only persistence templates of persistent services',
  },
  {
    name: 'sync_ports',
    kind: 'power-of-two',
    byDefault: '1',
    about: 'sync threads, each with its UDP port from 8848',
  },
  {
    name: 'sync_qlen_max',
    kind: 'unsigned-long',
    unit: 'messages',
    byDefault: '',
    about: 'most sync messages queued unsent (default: a 32nd of the memory pages)',
  },
  {
    name: 'sync_refresh_period',
    kind: 'seconds',
    unit: 'seconds',
    byDefault: '0',
    about: 'sync an unchanged connection again only after its timer moved this much (0: at every threshold)',
  },
  {
    name: 'sync_retries',
    kind: 'integer',
    min: 0n,
    max: 3n,
    byDefault: '0',
    about: 'sync message retries, every sync_refresh_period/8',
  },
  {
    name: 'sync_sock_size',
    kind: 'integer',
    unit: 'bytes',
    byDefault: '0',
    about: "the sync socket's SNDBUF (master) or RCVBUF (backup); 0 keeps the system's",
  },
  {
    name: 'sync_threshold',
    kind: 'pair',
    unit: 'packets',
    byDefault: '3\t50',
    about:
      'sync a connection when its incoming packets modulo the period (the 2nd) equal the threshold (the 1st); threshold below period unless period is 0',
  },
  {
    name: 'sync_version',
    kind: 'integer',
    min: 0n,
    max: 1n,
    byDefault: '1',
    about: 'sync protocol sent: 0 the original (legacy backups), 1 the current',
  },
];

export const SYSCTLS: readonly SysctlSpec[] = ENTRIES.map((e) => ({
  ...e,
  min: e.min ?? BOUNDS[e.kind][0],
  max: e.max ?? BOUNDS[e.kind][1],
  perNamespace: e.perNamespace ?? true,
}));

const BY_NAME = new Map(SYSCTLS.map((s) => [s.name, s]));

/** The prefix `sysctl` gives them. */
export const SYSCTL_PREFIX = 'net.ipv4.vs.';
/** Where each one is, by name, inside its namespace. */
export const SYSCTL_DIR = '/proc/sys/net/ipv4/vs';

/** The spec of `name` (with or without "net.ipv4.vs."), if it is one. */
export function sysctlSpec(name: string): SysctlSpec | undefined {
  return BY_NAME.get(name.startsWith(SYSCTL_PREFIX) ? name.slice(SYSCTL_PREFIX.length) : name);
}
