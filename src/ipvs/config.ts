import type { AttributeDecoder } from '../netlink/attribute-decoder.js';
import type { AttributeEncoder } from '../netlink/attribute-encoder.js';
import { CmdAttr, InfoAttr } from './constants.js';
import type { Config, Info } from './model.js';

/** Timeouts to set; the kernel leaves a 0 (or absent) value unchanged. */
export function encodeConfig(e: AttributeEncoder, c: Partial<Config>): void {
  if (c.timeoutTcp) e.u32(CmdAttr.TimeoutTcp, c.timeoutTcp);
  if (c.timeoutTcpFin) e.u32(CmdAttr.TimeoutTcpFin, c.timeoutTcpFin);
  if (c.timeoutUdp) e.u32(CmdAttr.TimeoutUdp, c.timeoutUdp);
}

export function decodeConfig(d: AttributeDecoder): Config {
  const c: Config = { timeoutTcp: 0, timeoutTcpFin: 0, timeoutUdp: 0 };
  while (d.next()) {
    switch (d.type()) {
      case CmdAttr.TimeoutTcp:
        c.timeoutTcp = d.u32();
        break;
      case CmdAttr.TimeoutTcpFin:
        c.timeoutTcpFin = d.u32();
        break;
      case CmdAttr.TimeoutUdp:
        c.timeoutUdp = d.u32();
        break;
    }
  }
  d.finish();
  return c;
}

export function decodeInfo(d: AttributeDecoder): Info {
  const i: Info = { version: '', versionCode: 0, connectionTableSize: 0 };
  while (d.next()) {
    switch (d.type()) {
      case InfoAttr.Version:
        i.versionCode = d.u32();
        break;
      case InfoAttr.ConnTabSize:
        i.connectionTableSize = d.u32();
        break;
    }
  }
  d.finish();
  const v = i.versionCode;
  i.version = `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`;
  return i;
}
