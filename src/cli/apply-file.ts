// A declared state from a file: an ApplyRequest in protobuf's JSON mapping,
// as YAML or JSON, read the same way by `apply -f` and `desired put -f` so
// that one file serves both. Every failure names the file.
import { fromJson } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import {
  ApplyRequestSchema,
  DesiredStateVipsSchema,
  ServiceHealthSchema,
  SysctlSettingSchema,
  type ApplyRequest,
  type DesiredStateVips,
  type ServiceHealth,
  type SysctlSetting,
} from '../client/index.js';
import { readAll } from './io.js';

export interface ApplyFile {
  request: ApplyRequest;
  /** The top-level `name`, when the caller allowed one (a desired state's). */
  name?: string;
  /** The top-level `health` list (a desired state's health checks), when allowed. */
  health: ServiceHealth[];
  /** The top-level `vips` (a desired state's VIP interface), when allowed. */
  vips?: DesiredStateVips;
  /** The top-level `sysctls` (a desired state's), when allowed. */
  sysctls: SysctlSetting[];
}

/**
 * A desired state's `sysctls`: a mapping (`{ conntrack: 1, sync_threshold: 3 50 }`, in its order) or a list of
 * SysctlSettings (`[{ name: conntrack, value: "1" }]`).
 */
function sysctlsOf(v: unknown): SysctlSetting[] {
  if (Array.isArray(v))
    return v.map((x, i) => {
      try {
        return fromJson(SysctlSettingSchema, x);
      } catch (e) {
        throw new Error(`sysctls[${i}]: ${(e as Error).message}`);
      }
    });
  if (typeof v !== 'object' || v === null) throw new Error('sysctls: not a mapping of name: value, nor a list');
  return Object.entries(v).map(([name, value]) => {
    if (typeof value !== 'string' && typeof value !== 'number')
      throw new Error(`sysctls.${name}: ${JSON.stringify(value)} is not a number or a string`);
    return fromJson(SysctlSettingSchema, { name, value: String(value) });
  });
}

/**
 * Reads `file` (- for `stdin`); `o.named` allows a top-level `name` string, `health` list, `vips` and `sysctls` (a
 * desired state's) beside the ApplyRequest.
 */
export async function readApplyFile(file: string, stdin: Readable, o: { named?: boolean } = {}): Promise<ApplyFile> {
  const label = file === '-' ? 'standard input' : file;
  let text: string;
  try {
    text = file === '-' ? await readAll(stdin) : readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`${label}: cannot read it (${err.code ?? err.message})`);
  }
  try {
    const doc: unknown = parseYaml(text) ?? {};
    if (!o.named || typeof doc !== 'object' || Array.isArray(doc) || doc === null)
      return { request: fromJson(ApplyRequestSchema, doc as never), health: [], sysctls: [] };
    const { name, health = [], vips, sysctls = [], ...rest } = doc as Record<string, unknown>;
    if (name !== undefined && typeof name !== 'string')
      throw new Error(`name: ${JSON.stringify(name)} is not a string`);
    if (!Array.isArray(health)) throw new Error('health: not a list');
    return {
      request: fromJson(ApplyRequestSchema, rest as never),
      name,
      health: health.map((h, i) => {
        try {
          return fromJson(ServiceHealthSchema, h);
        } catch (e) {
          throw new Error(`health[${i}]: ${(e as Error).message}`);
        }
      }),
      vips: vips === undefined ? undefined : fromJson(DesiredStateVipsSchema, vips as never),
      sysctls: sysctlsOf(sysctls),
    };
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
}
