// Values from linux/ip_vs.h (the kernel's IPVS user API) and moby/ipvs's
// exported names for them.

export const GENL_NAME = 'IPVS';
export const GENL_VERSION = 1;

export const Cmd = {
  NewService: 1,
  SetService: 2,
  DelService: 3,
  GetService: 4,
  NewDest: 5,
  SetDest: 6,
  DelDest: 7,
  GetDest: 8,
  NewDaemon: 9,
  DelDaemon: 10,
  GetDaemon: 11,
  SetConfig: 12,
  GetConfig: 13,
  SetInfo: 14,
  GetInfo: 15,
  Zero: 16,
  Flush: 17,
} as const;

export const CmdAttr = { Service: 1, Dest: 2, Daemon: 3, TimeoutTcp: 4, TimeoutTcpFin: 5, TimeoutUdp: 6 } as const;

export const SvcAttr = {
  Af: 1,
  Protocol: 2,
  Addr: 3,
  Port: 4,
  Fwmark: 5,
  SchedName: 6,
  Flags: 7,
  Timeout: 8,
  Netmask: 9,
  Stats: 10,
  PeName: 11,
  Stats64: 12,
} as const;

export const DestAttr = {
  Addr: 1,
  Port: 2,
  FwdMethod: 3,
  Weight: 4,
  UThresh: 5,
  LThresh: 6,
  ActiveConns: 7,
  InactConns: 8,
  PersistConns: 9,
  Stats: 10,
  AddrFamily: 11,
  Stats64: 12,
  TunType: 13,
  TunPort: 14,
  TunFlags: 15,
} as const;

export const DaemonAttr = {
  State: 1,
  McastIfn: 2,
  SyncId: 3,
  SyncMaxLen: 4,
  McastGroup: 5,
  McastGroup6: 6,
  McastPort: 7,
  McastTtl: 8,
} as const;

export const StatsAttr = {
  Conns: 1,
  InPkts: 2,
  OutPkts: 3,
  InBytes: 4,
  OutBytes: 5,
  Cps: 6,
  InPps: 7,
  OutPps: 8,
  InBps: 9,
  OutBps: 10,
} as const;

export const InfoAttr = { Version: 1, ConnTabSize: 2 } as const;

export { AF_INET, AF_INET6 } from '../inet/address.js';

/** IP protocols of virtual services. */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
export const PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [IPPROTO_TCP, 'tcp'],
  [IPPROTO_UDP, 'udp'],
  [IPPROTO_SCTP, 'sctp'],
]);

// Schedulers: moby/ipvs's six, then every other one Linux ships.
export const RoundRobin = 'rr';
export const LeastConnection = 'lc';
export const DestinationHashing = 'dh';
export const SourceHashing = 'sh';
export const WeightedRoundRobin = 'wrr';
export const WeightedLeastConnection = 'wlc';
export const ShortestExpectedDelay = 'sed';
export const NeverQueue = 'nq';
export const LocalityBasedLeastConnection = 'lblc';
export const LocalityBasedLeastConnectionReplication = 'lblcr';
export const MaglevHashing = 'mh';
export const WeightedFailover = 'fo';
export const WeightedOverflow = 'ovf';

export const SCHEDULERS: readonly string[] = [
  RoundRobin,
  WeightedRoundRobin,
  LeastConnection,
  WeightedLeastConnection,
  LocalityBasedLeastConnection,
  LocalityBasedLeastConnectionReplication,
  DestinationHashing,
  SourceHashing,
  ShortestExpectedDelay,
  NeverQueue,
  WeightedFailover,
  WeightedOverflow,
  MaglevHashing,
];
/** ipvsadm's default scheduler. */
export const DEFAULT_SCHEDULER = WeightedLeastConnection;

/** Persistence engines the kernel ships. */
export const PE_SIP = 'sip';
export const PERSISTENCE_ENGINES: readonly string[] = [PE_SIP];

/** Name lengths, including the NUL (IP_VS_SCHEDNAME_MAXLEN, IP_VS_PENAME_MAXLEN, IP_VS_IFNAME_MAXLEN). */
export const NAME_MAXLEN = 16;

// Service flags (IP_VS_SVC_F_*).
export const SvcFlagPersistent = 0x0001;
/** Set by the kernel on every service it holds; ignored when sent. */
export const SvcFlagHashed = 0x0002;
export const SvcFlagOnePacket = 0x0004;
export const SvcFlagSched1 = 0x0008;
export const SvcFlagSched2 = 0x0010;
export const SvcFlagSched3 = 0x0020;
/** sh: fall back to another server when the hashed one is unavailable. */
export const SvcFlagShFallback = SvcFlagSched1;
/** sh: include the source port in the hash. */
export const SvcFlagShPort = SvcFlagSched2;
/** mh: fall back to another server when the hashed one is unavailable. */
export const SvcFlagMhFallback = SvcFlagSched1;
/** mh: include the source port in the hash. */
export const SvcFlagMhPort = SvcFlagSched2;
/** Flags a user may set. */
export const SVC_USER_FLAGS = SvcFlagPersistent | SvcFlagOnePacket | SvcFlagSched1 | SvcFlagSched2 | SvcFlagSched3;

// Forwarding methods, under moby/ipvs's two sets of names.
export const ConnectionFlagFwdMask = 0x0007;
export const ConnectionFlagMasq = 0x0000;
export const ConnectionFlagLocalNode = 0x0001;
export const ConnectionFlagTunnel = 0x0002;
export const ConnectionFlagDirectRoute = 0x0003;
export const ConnFwdMask = 0x0007;
export const ConnFwdMasq = 0x0000;
export const ConnFwdLocalNode = 0x0001;
export const ConnFwdTunnel = 0x0002;
export const ConnFwdDirectRoute = 0x0003;
export const ConnFwdBypass = 0x0004;
export const FORWARDING_METHODS: ReadonlyMap<number, string> = new Map([
  [ConnFwdMasq, 'masq'],
  [ConnFwdLocalNode, 'local'],
  [ConnFwdTunnel, 'tunnel'],
  [ConnFwdDirectRoute, 'droute'],
  [ConnFwdBypass, 'bypass'],
]);

// Tunnel encapsulation of tunnel-mode destinations.
export const TunnelTypeIpip = 0;
export const TunnelTypeGue = 1;
export const TunnelTypeGre = 2;
export const TUNNEL_TYPES: ReadonlyMap<number, string> = new Map([
  [TunnelTypeIpip, 'ipip'],
  [TunnelTypeGue, 'gue'],
  [TunnelTypeGre, 'gre'],
]);
export const TunnelFlagNoCsum = 0;
export const TunnelFlagCsum = 1;
export const TunnelFlagRemCsum = 2;

// Sync daemon states.
export const DaemonStateMaster = 1;
export const DaemonStateBackup = 2;

/** Kernel limit on a destination weight (an int). */
export const MAX_WEIGHT = 0x7fffffff;
