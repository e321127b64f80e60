// The namespace-wide RPCs: the connection timeouts (GetConfig, SetConfig),
// GetInfo, ZeroCounters, and the sync daemons (Start, Stop, List).
import { create } from '@bufbuild/protobuf';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { configIn, configOut, daemonIn, daemonOut, infoOut, serviceIdIn } from './convert.js';
import type { Room, Rpcs } from './room.js';

type SystemRpcs = Rpcs<
  'getConfig' | 'setConfig' | 'getInfo' | 'zeroCounters' | 'startDaemon' | 'stopDaemon' | 'listDaemons'
>;

export function system({ h, u }: Room): SystemRpcs {
  return {
    getConfig: u('GetConfig', async (req: api.GetConfigRequest) =>
      create(api.GetConfigResponseSchema, { config: configOut(await h(req.namespace).getConfig()) }),
    ),
    setConfig: u('SetConfig', async (req: api.SetConfigRequest) => {
      await h(req.namespace).setConfig(configIn(req.config));
      return create(api.SetConfigResponseSchema);
    }),
    getInfo: u('GetInfo', async (req: api.GetInfoRequest) =>
      create(api.GetInfoResponseSchema, { info: infoOut(await h(req.namespace).getInfo()) }),
    ),
    zeroCounters: u('ZeroCounters', async (req: api.ZeroCountersRequest) => {
      await h(req.namespace).zero(req.service ? serviceIdIn(req.service) : undefined);
      return create(api.ZeroCountersResponseSchema);
    }),
    startDaemon: u('StartDaemon', async (req: api.StartDaemonRequest) => {
      await h(req.namespace).startDaemon(daemonIn(req.daemon));
      return create(api.StartDaemonResponseSchema);
    }),
    stopDaemon: u('StopDaemon', async (req: api.StopDaemonRequest) => {
      await h(req.namespace).stopDaemon(req.state);
      return create(api.StopDaemonResponseSchema);
    }),
    listDaemons: u('ListDaemons', async (req: api.ListDaemonsRequest) =>
      create(api.ListDaemonsResponseSchema, { daemons: (await h(req.namespace).getDaemons()).map(daemonOut) }),
    ),
  };
}
