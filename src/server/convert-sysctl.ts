// IPVS sysctls between the API's messages and the core's: a sysctl with its kind and range out, settings in, and
// the request path of a refused setting ("settings[2].value", "names[0]").
import { create } from '@bufbuild/protobuf';
import * as api from '../../gen/ts/ipvs/v1/sysctl_pb.js';
import { rangeOf, type SysctlChange, type SysctlKind, type SysctlValue, type ValidationError } from '../ipvs/index.js';

const KINDS: Record<SysctlKind, api.SysctlKind> = {
  integer: api.SysctlKind.INTEGER,
  boolean: api.SysctlKind.BOOLEAN,
  defense: api.SysctlKind.DEFENSE_MODE,
  pair: api.SysctlKind.PAIR,
  seconds: api.SysctlKind.SECONDS,
  'unsigned-long': api.SysctlKind.UNSIGNED_LONG,
  'power-of-two': api.SysctlKind.POWER_OF_TWO,
};

export function sysctlOut({ name, value, spec }: SysctlValue): api.Sysctl {
  if (!spec) return create(api.SysctlSchema, { name, value, perNamespace: true });
  return create(api.SysctlSchema, {
    name,
    value,
    kind: KINDS[spec.kind],
    minimum: String(spec.min),
    maximum: String(spec.max),
    range: rangeOf(spec),
    unit: spec.unit ?? '',
    defaultValue: spec.byDefault,
    perNamespace: spec.perNamespace,
    module: spec.module ?? '',
    description: spec.about,
  });
}

export const sysctlUpdateOut = (c: SysctlChange): api.SysctlUpdate =>
  create(api.SysctlUpdateSchema, { name: c.name, previousValue: c.previous, value: c.value, changed: c.changed });

/** The request path of a refused setting under `list` ("settings", "desired_state.sysctls"). */
export const settingPath = (list: string, e: ValidationError): string => `${list}[${e.index ?? 0}].${e.field}`;
