// The RPCs of services and destinations one at a time (List, Get, Create,
// Update, Delete), Flush, and Batch: each one Handle call or a page of them.
import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { serviceWithDestinations } from '../ipvs/index.js';
import { batchOp, batchOut, batchPath } from './convert-batch.js';
import { destinationIn, nestedPath, serviceIdIn, serviceIn } from './convert.js';
import { listDestinationsPage, listServicesPage, serviceReply } from './pages.js';
import type { Room, Rpcs } from './room.js';
import { RpcError } from './status.js';

type ServiceRpcs = Rpcs<'listServices' | 'getService' | 'createService' | 'updateService' | 'deleteService' | 'flush'>;
type DestinationRpcs = Rpcs<
  'listDestinations' | 'createDestination' | 'updateDestination' | 'deleteDestination' | 'batch'
>;

export function services({ o, h, budget, u }: Room): ServiceRpcs & DestinationRpcs {
  return {
    listServices: u('ListServices', (req: api.ListServicesRequest) => listServicesPage(h(req.namespace), req, budget)),
    getService: u('GetService', async (req: api.GetServiceRequest) => {
      const handle = h(req.namespace);
      const id = serviceIdIn(req.service);
      const [s, destinations] = await Promise.all([
        handle.getService(id),
        req.includeDestinations ? handle.getDestinations(id) : [],
      ]);
      return serviceReply(serviceWithDestinations(s, destinations), budget);
    }),
    createService: u(
      'CreateService',
      async (req: api.CreateServiceRequest) => {
        await h(req.namespace).newService(serviceIn(req.service));
        return create(api.CreateServiceResponseSchema);
      },
      nestedPath,
    ),
    updateService: u(
      'UpdateService',
      async (req: api.UpdateServiceRequest) => {
        await h(req.namespace).updateService(serviceIn(req.service));
        return create(api.UpdateServiceResponseSchema);
      },
      nestedPath,
    ),
    deleteService: u('DeleteService', async (req: api.DeleteServiceRequest) => {
      await h(req.namespace).delService(serviceIdIn(req.service));
      return create(api.DeleteServiceResponseSchema);
    }),
    flush: u('Flush', async (req: api.FlushRequest) => {
      await h(req.namespace).flush();
      return create(api.FlushResponseSchema);
    }),
    listDestinations: u('ListDestinations', (req: api.ListDestinationsRequest) =>
      listDestinationsPage(h(req.namespace), req, serviceIdIn(req.service), budget),
    ),
    createDestination: u('CreateDestination', async (req: api.CreateDestinationRequest) => {
      await h(req.namespace).newDestination(serviceIdIn(req.service), destinationIn(req.destination));
      return create(api.CreateDestinationResponseSchema);
    }),
    updateDestination: u('UpdateDestination', async (req: api.UpdateDestinationRequest) => {
      await h(req.namespace).updateDestination(serviceIdIn(req.service), destinationIn(req.destination));
      return create(api.UpdateDestinationResponseSchema);
    }),
    deleteDestination: u('DeleteDestination', async (req: api.DeleteDestinationRequest) => {
      await h(req.namespace).delDestination(serviceIdIn(req.service), destinationIn(req.destination));
      return create(api.DeleteDestinationResponseSchema);
    }),
    batch: u(
      'Batch',
      async (req: api.BatchRequest, ctx) => {
        if (req.operations.length > o.maxBatch) {
          throw new RpcError(
            status.INVALID_ARGUMENT,
            `${req.operations.length} operations; at most ${o.maxBatch} per batch`,
            'operations',
          );
        }
        const handle = h(req.namespace);
        const out = batchOut(await handle.batch(req.operations.map(batchOp)));
        ctx.note({ applied: out.applied, failed: req.operations.length - out.applied });
        return out;
      },
      batchPath,
    ),
  };
}
