#!/usr/bin/python3
"""A Python client of ipvsd, from gen/python with Debian's python3-grpcio:
creates a service with two destinations, reads it back, watches its counters
until they show --expect connections (at most 10 ticks), and deletes it.
It prints one line per step; the e2e test reads them.

    /usr/bin/python3 examples/python/example.py --addr 127.0.0.1:50051 --netns blue --expect 4
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "gen", "python"))

import grpc  # noqa: E402
from google.protobuf.duration_pb2 import Duration  # noqa: E402
from ipvs.v1 import ipvs_pb2, ipvs_pb2_grpc, model_pb2  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--addr", default="127.0.0.1:50051", help="host:port or unix:/path")
    p.add_argument("--netns", default="")
    p.add_argument("--vip", default="192.0.2.10")
    p.add_argument("--expect", type=int, default=1)
    a = p.parse_args()

    with grpc.insecure_channel(a.addr) as channel:
        c = ipvs_pb2_grpc.IpvsServiceStub(channel)
        sid = model_pb2.ServiceId(address=a.vip, protocol=model_pb2.PROTOCOL_TCP, port=80)
        c.CreateService(ipvs_pb2.CreateServiceRequest(
            namespace=a.netns, service=model_pb2.Service(id=sid, sched_name="rr")), timeout=30)
        for rs in ("203.0.113.2", "203.0.113.6"):
            c.CreateDestination(ipvs_pb2.CreateDestinationRequest(
                namespace=a.netns, service=sid, destination=model_pb2.Destination(address=rs, port=8080)), timeout=30)
        got = c.GetService(ipvs_pb2.GetServiceRequest(namespace=a.netns, service=sid, include_destinations=True), timeout=30)
        print(f"created {got.service.service.sched_name} {len(got.service.destinations)} destinations", flush=True)

        stream = c.WatchStats(ipvs_pb2.WatchStatsRequest(
            namespace=a.netns, services=[sid], interval=Duration(seconds=2)), timeout=60)
        for tick, snap in enumerate(stream):
            conns = snap.services[0].stats.connections
            print(f"tick connections={conns}", flush=True)
            if conns >= a.expect or tick >= 9:
                break
        stream.cancel()

        c.DeleteService(ipvs_pb2.DeleteServiceRequest(namespace=a.netns, service=sid), timeout=30)
        print("deleted", flush=True)


if __name__ == "__main__":
    main()
