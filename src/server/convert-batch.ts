// Batch's messages and the core's: each operation in, the results out, and
// the request field of a refused operation.
import { create } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import * as api from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import type { BatchItemResult, BatchOp } from '../ipvs/index.js';
import { destinationIn, fieldPath, serviceIdIn, serviceIn, snakeCase } from './convert.js';
import type { FieldPath } from './handler.js';
import { RpcError, statusOfErrno } from './status.js';

/** "operations[3].create_service.id.port": the field of a refused batch item. */
export const batchPath: FieldPath<api.BatchRequest> = (e, req) => {
  const item = e.index === undefined ? undefined : req.operations[e.index]?.operation;
  if (!item?.case) return fieldPath(e.subject, e.field, false);
  const kind = snakeCase(item.case);
  const nested = item.case === 'createService' || item.case === 'updateService';
  const inner = fieldPath(e.subject, e.field, nested);
  // A destination operation holds its service and destination one level down; a service operation is the service.
  return `operations[${e.index}].${kind}${nested || item.case === 'deleteService' ? inner.replace(/^service/, '') : `.${inner}`}`;
};
const BATCH_KINDS = [
  'createService',
  'updateService',
  'deleteService',
  'createDestination',
  'updateDestination',
  'deleteDestination',
] as const;

/** The core's operation of `operations[i]`. */
export function batchOp(o: api.BatchOperation, i: number): BatchOp {
  const at = `operations[${i}]`;
  const v = o.operation;
  switch (v.case) {
    case 'createService':
      return { op: 'newService', service: serviceIn(v.value, `${at}.create_service`) };
    case 'updateService':
      return { op: 'updateService', service: serviceIn(v.value, `${at}.update_service`) };
    case 'deleteService':
      return { op: 'delService', service: serviceIdIn(v.value, `${at}.delete_service`) };
    case 'createDestination':
    case 'updateDestination':
    case 'deleteDestination': {
      const name = `${at}.${snakeCase(v.case)}`;
      const op = (
        {
          createDestination: 'newDestination',
          updateDestination: 'updateDestination',
          deleteDestination: 'delDestination',
        } as const
      )[v.case];
      return {
        op,
        service: serviceIdIn(v.value.service, `${name}.service`),
        destination: destinationIn(v.value.destination, `${name}.destination`),
      };
    }
    default:
      throw new RpcError(status.INVALID_ARGUMENT, `${at}: one of ${BATCH_KINDS.join(', ')} is required`, at);
  }
}

/** A Batch result's message, at most 200 characters: with MAX_BATCH results, a response stays under 4 MiB. */
const clip = (m: string) => (m.length > 200 ? `${m.slice(0, 199)}…` : m);

/** Batch's answer: a result per operation, in order, and how many were applied. */
export function batchOut(results: readonly BatchItemResult[]): api.BatchResponse {
  let applied = 0;
  return create(api.BatchResponseSchema, {
    results: results.map((r) => {
      if (r.ok) {
        applied++;
        return create(api.BatchResultSchema);
      }
      return create(api.BatchResultSchema, {
        code: statusOfErrno(r.error.errno),
        errno: r.error.errno,
        message: clip(r.error.message),
      });
    }),
    applied,
  });
}
