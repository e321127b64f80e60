// The on-disk form of one desired state, version 1: a JSON object
//   {"format": "ipvsd.desired-state", "version": 1, "name", "generation", "sha256", "spec"}
// written pretty so that an operator can read it. `sha256` (hex, of the canonical JSON of
// [format, version, name, generation, spec]) makes any change the store did not make (a torn write, bit rot, a hand
// edit) a refusal rather than a different state: decoding gives back exactly what was encoded, or a StoreError.
import { createHash } from 'node:crypto';
import { StoreError } from './error.js';

export interface StoredDesiredState {
  /** "desiredStates/{id}". */
  name: string;
  /** 1 on create, +1 per Put (the server counts; the store keeps what it is given). A positive safe integer. */
  generation: number;
  /** The spec as protobuf-JSON-compatible plain data (the server layer converts); opaque to the store. */
  spec: unknown;
}

export const FORMAT = 'ipvsd.desired-state';
export const VERSION = 1;
const PREFIX = 'desiredStates/';
/** AIP-122 style: lower case, digits and hyphens, at most 63 characters; never a dot, so ids and file names map 1:1. */
export const ID = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const FIELDS = new Set(['format', 'version', 'name', 'generation', 'sha256', 'spec']);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The id of a desired state's name, or undefined if `name` is not "desiredStates/{id}". */
export function idOf(name: string): string | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  const id = name.slice(PREFIX.length);
  return ID.test(id) ? id : undefined;
}

export function nameOf(id: string): string {
  return PREFIX + id;
}

function digest(name: string, generation: number, spec: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([FORMAT, VERSION, name, generation, spec]))
    .digest('hex');
}

/**
 * The file's bytes for `s`. Throws TypeError for what is not a state (a bad name or generation, a spec JSON cannot
 * hold): those are the caller's mistakes, not the disk's. JSON's own conversions apply to the spec (undefined members
 * are dropped, NaN becomes null), which is why the store keeps the decoded form, not the caller's object.
 */
export function encodeState(s: StoredDesiredState): Buffer {
  if (idOf(s.name) === undefined) throw new TypeError(`not a desired state name: ${JSON.stringify(s.name)}`);
  if (!Number.isSafeInteger(s.generation) || s.generation < 1) {
    throw new TypeError(`generation of ${s.name} must be a positive safe integer, not ${s.generation}`);
  }
  let spec: string | undefined;
  try {
    spec = JSON.stringify(s.spec);
  } catch (e) {
    throw new TypeError(`spec of ${s.name} is not JSON data: ${(e as Error).message}`);
  }
  if (spec === undefined) throw new TypeError(`spec of ${s.name} is not JSON data`);
  // Canonical (re-parsed) spec, so that the digest is the one decodeState computes from the file.
  const canonical: unknown = JSON.parse(spec);
  const file = {
    format: FORMAT,
    version: VERSION,
    name: s.name,
    generation: s.generation,
    sha256: digest(s.name, s.generation, canonical),
    spec: canonical,
  };
  return Buffer.from(`${JSON.stringify(file, null, 2)}\n`);
}

/**
 * The state in a file's bytes, or a StoreError naming `path` and what is wrong. `id`, when given, is the one the
 * file's name says; a file holding another state is refused (a copy under the wrong name).
 */
export function decodeState(bytes: Uint8Array, path: string, id?: string): StoredDesiredState {
  const bad = (reason: string) => new StoreError(path, reason);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw bad('is not UTF-8 text');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`is not JSON (truncated?): ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('is not a JSON object');
  const o = v as Record<string, unknown>;
  if (o.format !== FORMAT) throw bad(`has format ${JSON.stringify(o.format)}, not "${FORMAT}"`);
  if (o.version !== VERSION) {
    const newer = typeof o.version === 'number' && o.version > VERSION ? ' (written by a newer ipvsd?)' : '';
    throw bad(`has version ${JSON.stringify(o.version)}; this ipvsd reads version ${VERSION}${newer}`);
  }
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw bad(`has an unknown field "${k}"`);
  const { name, generation, sha256, spec } = o;
  if (typeof name !== 'string' || idOf(name) === undefined) {
    throw bad(`has name ${JSON.stringify(name)}, not one of the form desiredStates/{id}`);
  }
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1) {
    throw bad(`has generation ${JSON.stringify(generation)}, not a positive integer`);
  }
  if (!('spec' in o)) throw bad('has no spec');
  if (typeof sha256 !== 'string' || sha256 !== digest(name, generation, spec)) {
    throw bad('does not match its sha256: it was damaged, or changed by something other than ipvsd');
  }
  if (id !== undefined && name !== nameOf(id)) {
    throw bad(`holds ${name}, but its file name says ${nameOf(id)} (copied under the wrong name?)`);
  }
  return { name, generation, spec };
}
