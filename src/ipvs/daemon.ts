import type { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { AttributeEncoder } from '../netlink/attribute-encoder.js';
import { addressBytes, familyOf } from '../inet/address.js';
import { decodeAddress } from './address.js';
import { AF_INET, AF_INET6, DaemonAttr } from './constants.js';
import type { Daemon, DaemonInput } from './model.js';

export function encodeDaemon(e: AttributeEncoder, d: Required<DaemonInput>): void {
  e.u32(DaemonAttr.State, d.state);
  e.string(DaemonAttr.McastIfn, d.mcastInterface);
  e.u32(DaemonAttr.SyncId, d.syncId);
  if (d.syncMaxLen) e.u16(DaemonAttr.SyncMaxLen, d.syncMaxLen);
  if (d.mcastGroup) {
    const f = familyOf(d.mcastGroup);
    e.bytes(f === AF_INET6 ? DaemonAttr.McastGroup6 : DaemonAttr.McastGroup, addressBytes(f, d.mcastGroup));
  }
  if (d.mcastPort) e.u16(DaemonAttr.McastPort, d.mcastPort);
  if (d.mcastTtl) e.u8(DaemonAttr.McastTtl, d.mcastTtl);
}

export function decodeDaemon(d: AttributeDecoder): Daemon {
  const out: Daemon = {
    state: 0,
    mcastInterface: '',
    syncId: 0,
    syncMaxLen: 0,
    mcastGroup: '',
    mcastPort: 0,
    mcastTtl: 0,
  };
  while (d.next()) {
    switch (d.type()) {
      case DaemonAttr.State:
        out.state = d.u32();
        break;
      case DaemonAttr.McastIfn:
        out.mcastInterface = d.string();
        break;
      case DaemonAttr.SyncId:
        out.syncId = d.u32();
        break;
      case DaemonAttr.SyncMaxLen:
        out.syncMaxLen = d.u16();
        break;
      case DaemonAttr.McastGroup:
        out.mcastGroup = decodeAddress('decode daemon', AF_INET, d.buffer, d.offset(), d.length());
        break;
      case DaemonAttr.McastGroup6:
        out.mcastGroup = decodeAddress('decode daemon', AF_INET6, d.buffer, d.offset(), d.length());
        break;
      case DaemonAttr.McastPort:
        out.mcastPort = d.u16();
        break;
      case DaemonAttr.McastTtl:
        out.mcastTtl = d.u8();
        break;
    }
  }
  d.finish();
  return out;
}
