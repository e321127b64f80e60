// A declared state from a file: an ApplyRequest in protobuf's JSON mapping,
// as YAML or JSON, read the same way by `apply -f` and `desired put -f` so
// that one file serves both. Every failure names the file.
import { fromJson } from '@bufbuild/protobuf';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  ApplyRequestSchema,
  DesiredStateVipsSchema,
  ServiceHealthSchema,
  type ApplyRequest,
  type DesiredStateVips,
  type ServiceHealth,
} from '../client/index.js';

export interface ApplyFile {
  request: ApplyRequest;
  /** The top-level `name`, when the caller allowed one (a desired state's). */
  name?: string;
  /** The top-level `health` list (a desired state's health checks), when allowed. */
  health: ServiceHealth[];
  /** The top-level `vips` (a desired state's VIP interface), when allowed. */
  vips?: DesiredStateVips;
}

/**
 * Reads `file` (- for standard input); `o.named` allows a top-level `name` string, `health` list and `vips` (a
 * desired state's) beside the ApplyRequest.
 */
export function readApplyFile(file: string, o: { named?: boolean } = {}): ApplyFile {
  const label = file === '-' ? 'standard input' : file;
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`${label}: cannot read it (${err.code ?? err.message})`);
  }
  try {
    const doc: unknown = parseYaml(text) ?? {};
    if (!o.named || typeof doc !== 'object' || Array.isArray(doc) || doc === null)
      return { request: fromJson(ApplyRequestSchema, doc as never), health: [] };
    const { name, health = [], vips, ...rest } = doc as Record<string, unknown>;
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
    };
  } catch (e) {
    throw new Error(`${label}: ${(e as Error).message}`);
  }
}
