// A grpc-js server on loopback with hand-written IpvsService handlers (any
// other method is UNIMPLEMENTED), and a client of it: for testing the
// client's own behaviour (retries, joining parts), not the server's.
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { afterEach } from 'vitest';
import { IpvsService } from '../../gen/ts/ipvs/v1/ipvs_pb.js';
import { connectIpvs, type ConnectOptions, type IpvsClient } from '../../src/client/index.js';
import { grpcDefinition } from '../../src/rpc/definition.js';

const servers: (() => void)[] = [];
afterEach(() => {
  for (const close of servers.splice(0)) close();
});

/** A server with these handlers, and a client of it; both closed after each test. */
export async function serve(handlers: UntypedServiceImplementation, opts?: ConnectOptions): Promise<IpvsClient> {
  const server = new Server();
  server.addService(grpcDefinition(IpvsService), handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const client = connectIpvs(`127.0.0.1:${port}`, opts);
  servers.push(() => {
    client.close();
    server.forceShutdown();
  });
  return client;
}
