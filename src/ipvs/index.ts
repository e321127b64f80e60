// The IPVS library: a Handle per network namespace, its models and constants.
export * from './constants.js';
export { addressBytes, canonicalAddress, familyOf, formatHostPort } from '../inet/address.js';
export { Handle, type HandleOptions, type BatchOp, type BatchItemResult, type NormalBatchOp } from './handle.js';
export type * from './model.js';
export {
  describeService,
  normalDestination,
  normalServiceId,
  serviceKey,
  ValidationError,
  type NormalDestination,
  type NormalService,
  type NormalServiceId,
  type Subject,
} from './validate.js';
export { KernelError } from '../netlink/error.js';
export {
  applyState,
  plan,
  owns,
  type ApplyOptions,
  type ApplyResult,
  type ApplyRun,
  type Change,
  type ChangeAction,
  type DesiredService,
  type Scope,
} from './apply.js';
export type { StateEvent } from './diff.js';
export { Mirror } from './mirror.js';
export { fingerprint, fingerprintAfter } from './fingerprint.js';
export { serviceWithDestinations } from './service.js';
export { Drainer, drainerOf, MAX_DRAIN_MS, timedDrain, type OnDrained } from './drain.js';
export { upsertDestination } from './upsert.js';
export { CONNECTION_HEADER, parseConnection, type Connection } from './connection.js';
export { forwardingMethods, matchesConnection, readConnections, type ConnectionFilter } from './connections.js';
export { SYSCTL_PREFIX, SYSCTLS, sysctlSpec, type SysctlKind, type SysctlSpec } from './sysctl-table.js';
export { knownSysctl, parseSysctlValue, rangeOf, sameSysctlValue } from './sysctl-value.js';
export {
  checkSysctlSettings,
  readSysctls,
  setSysctls,
  type CheckedSetting,
  type SysctlChange,
  type SysctlSetting,
  type SysctlValue,
} from './sysctls.js';
