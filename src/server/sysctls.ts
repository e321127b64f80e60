// The IPVS sysctls of a namespace (ListSysctls, UpdateSysctls), read and written by the core through the
// namespace's own /proc/sys/net/ipv4/vs; the namespace's Handle is taken first, so that IPVS is loaded and the
// namespace allowed.
import { create } from '@bufbuild/protobuf';
import * as api from '../../gen/ts/ipvs/v1/sysctl_pb.js';
import { readSysctls, setSysctls } from '../ipvs/index.js';
import { settingPath, sysctlOut, sysctlUpdateOut } from './convert-sysctl.js';
import type { Room, Rpcs } from './room.js';

type SysctlRpcs = Rpcs<'listSysctls' | 'updateSysctls'>;

export function sysctls({ h, u }: Room): SysctlRpcs {
  return {
    listSysctls: u(
      'ListSysctls',
      async (req: api.ListSysctlsRequest) =>
        create(api.ListSysctlsResponseSchema, { sysctls: readSysctls(h(req.namespace), req.names).map(sysctlOut) }),
      (e) => `names[${e.index ?? 0}]`,
    ),
    updateSysctls: u(
      'UpdateSysctls',
      async (req: api.UpdateSysctlsRequest) =>
        create(api.UpdateSysctlsResponseSchema, {
          updates: setSysctls(h(req.namespace), req.settings, { validateOnly: req.validateOnly }).map(sysctlUpdateOut),
        }),
      (e) => settingPath('settings', e),
    ),
  };
}
