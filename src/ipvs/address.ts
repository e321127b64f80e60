// Addresses inside IPVS attributes: written in place, read in place.
import type { AttributeEncoder } from '../netlink/attribute-encoder.js';
import { KernelError } from '../netlink/error.js';
import { AF_INET, formatAddress, writeAddress } from '../inet/address.js';

/** Writes a valid address as an attribute, without intermediate allocations (the bulk path). */
export function encodeAddress(e: AttributeEncoder, type: number, family: number, address: string): void {
  const at = e.space(type, family === AF_INET ? 4 : 16);
  if (at >= 0) writeAddress(e.buffer, at, family, address);
}

/**
 * An address attribute from the kernel (IPVS pads IPv4 to 16 bytes), read in place: `length` bytes at `at` of `buf`.
 */
export function decodeAddress(op: string, family: number, buf: Buffer, at: number, length: number): string {
  const need = family === AF_INET ? 4 : 16;
  if (length < need) throw KernelError.of(op, 'EBADMSG', `address of ${length} bytes for family ${family}`);
  return formatAddress(family, buf, at);
}
