// The typed models. Field names are moby/ipvs's, in lowerCamelCase;
// fields moby/ipvs lacks sit beside them.

/**
 * Counters and rates of a service or destination: the kernel's 64-bit
 * STATS64, as numbers (exact below 2^53, i.e. 9 PB; past that the nearest
 * double); rates are the kernel's 2-second estimates.
 */
export interface Stats {
  connections: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Connections per second. */
  cps: number;
  ppsIn: number;
  ppsOut: number;
  bpsIn: number;
  bpsOut: number;
}
export type SvcStats = Stats;
export type DstStats = Stats;

/** A virtual service, as the kernel reports it. */
export interface Service {
  /** AF_INET (2) or AF_INET6 (10). */
  addressFamily: number;
  /** 6 (tcp), 17 (udp), 132 (sctp); 0 for a firewall-mark service. */
  protocol: number;
  /** Virtual IP; '' for a firewall-mark service. */
  address: string;
  port: number;
  /** Firewall mark; 0 unless this is a firewall-mark service. */
  fwMark: number;
  schedName: string;
  /** IP_VS_SVC_F_* bits (SvcFlag*); the kernel always adds SvcFlagHashed. */
  flags: number;
  /** Persistence timeout in seconds. */
  timeout: number;
  /** Persistence granularity: an IPv4 mask as a uint32 (0xffffffff = /32), or an IPv6 prefix length. */
  netmask: number;
  /** Persistence engine ('sip'), or ''. */
  peName: string;
  stats: SvcStats;
}

/** The fields that name a service: address+protocol+port, or fwMark, in a family. */
export interface ServiceId {
  /** Inferred from `address` when left out; AF_INET for a firewall-mark service. */
  addressFamily?: number;
  protocol?: number;
  address?: string;
  port?: number;
  fwMark?: number;
}

/** What a caller gives to create or update a service; left-out fields take ipvsadm's defaults. */
export interface ServiceInput extends ServiceId {
  /** Default 'wlc'. */
  schedName?: string;
  /** Default 0. SvcFlagHashed is ignored. */
  flags?: number;
  /** Default 0 (360 s when SvcFlagPersistent is set, as ipvsadm does). */
  timeout?: number;
  /** Default 0xffffffff for IPv4, 128 for IPv6. */
  netmask?: number;
  peName?: string;
}

/** A real server behind a service, as the kernel reports it. */
export interface Destination {
  /** Family of `address`; may differ from the service's for tunnel destinations. */
  addressFamily: number;
  address: string;
  port: number;
  weight: number;
  /** Forwarding method (ConnFwd*). */
  connectionFlags: number;
  upperThreshold: number;
  lowerThreshold: number;
  activeConnections: number;
  inactiveConnections: number;
  persistentConnections: number;
  /** Tunnel encapsulation (TunnelType*), for tunnel destinations. */
  tunnelType: number;
  /** Tunnel port (GUE). */
  tunnelPort: number;
  /** Tunnel checksum options (TunnelFlag*). */
  tunnelFlags: number;
  stats: DstStats;
}

/** What a caller gives to create or update a destination. */
export interface DestinationInput {
  address: string;
  /** Default: the address's own family. */
  addressFamily?: number;
  /** Default: the service's port, as ipvsadm does. */
  port?: number;
  /** Default 1. 0 drains: no new connections. */
  weight?: number;
  /** Default ConnFwdMasq (0), as moby/ipvs's zero value. */
  connectionFlags?: number;
  /** Default 0: no limit. */
  upperThreshold?: number;
  lowerThreshold?: number;
  tunnelType?: number;
  tunnelPort?: number;
  tunnelFlags?: number;
}

/** Connection timeouts in seconds. On set, 0 leaves a value unchanged. */
export interface Config {
  timeoutTcp: number;
  timeoutTcpFin: number;
  timeoutUdp: number;
}

export interface Info {
  /** "1.2.1" */
  version: string;
  versionCode: number;
  /** Size of the connection hash table. */
  connectionTableSize: number;
}

/** A connection-synchronisation daemon. */
export interface Daemon {
  /** DaemonStateMaster (1) or DaemonStateBackup (2). */
  state: number;
  /** Interface the sync traffic uses. */
  mcastInterface: string;
  syncId: number;
  /** Largest sync message payload; 0 = kernel default. */
  syncMaxLen: number;
  /** Multicast group; '' = the kernel default 224.0.0.81. */
  mcastGroup: string;
  /** 0 = kernel default 8848. */
  mcastPort: number;
  /** 0 = kernel default 1. */
  mcastTtl: number;
}

export type DaemonInput = Pick<Daemon, 'state' | 'mcastInterface'> & Partial<Omit<Daemon, 'state' | 'mcastInterface'>>;

/** A service with its destinations, as listed in one go. */
export interface ServiceWithDestinations extends Service {
  destinations: Destination[];
}
