#!/usr/bin/python3
"""A Python client of ipvsd, with the distribution ipvsd-api (gen/python, import package ipvs.v1) installed:
it connects with the API's default service config (its reads retry on UNAVAILABLE) and keepalive pings on idle
streams, creates a service with two destinations, reads it back, watches its counters until they show --expect
connections (at most 10 ticks), and deletes it. It prints one line per step; the e2e test reads them.

With --count it only reads, whatever the namespace holds, with grpcio's stock
4 MiB message limit: every page of ListServices, one whole WatchStats tick and
the first WatchEvents message (its resync), joining the parts, and prints one
line for each. Each arrives in pages or parts, none over the server's response
limit; a service whose destinations did not all fit continues at the start of
the next one (the same ServiceId again), so it is counted once.

    python=$(scripts/python-client.sh /var/tmp/ipvsd-python)   # the wheel, in a venv that sees Debian's grpcio
    cd /var/tmp && $python /path/to/example.py --addr 127.0.0.1:50051 --netns blue --expect 4
    cd /var/tmp && $python /path/to/example.py --addr 127.0.0.1:50051 --netns blue --count
"""
import argparse
import sys

import grpc
from google.protobuf.duration_pb2 import Duration
from ipvs.v1 import ipvs_pb2, ipvs_pb2_grpc, model_pb2
from ipvs.v1.service_config import DEFAULT_SERVICE_CONFIG

# The service config's retries need grpc.enable_retries (on by default in recent grpcio; set anyway). A ping after
# 60 s without activity, answered within 20 s, and none without a call: the server permits one every 30 s at most,
# and only while a call (a WatchStats, say) is open.
CHANNEL_OPTIONS = [
    ("grpc.service_config", DEFAULT_SERVICE_CONFIG),
    ("grpc.enable_retries", 1),
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 0),
]


class Tally:
    """Counts the messages of one listing, tick or resync."""

    def __init__(self) -> None:
        self.services = self.destinations = self.messages = self.largest = 0
        self.last = None

    def add(self, message, services) -> None:
        """Counts `message`, whose services are (ServiceId, destination count) pairs."""
        self.messages += 1
        self.largest = max(self.largest, message.ByteSize())
        for i, (sid, dests) in enumerate(services):
            if i > 0 or self.last is None or sid != self.last:
                self.services += 1
            self.destinations += dests
            self.last = sid

    def line(self, what: str, messages: str) -> str:
        return (f"{what} services={self.services} destinations={self.destinations} "
                f"{messages}={self.messages} largest={self.largest}")


def listing(services):
    """(ServiceId, destination count) of each ServiceWithDestinations."""
    return [(s.service.id, len(s.destinations)) for s in services]


def count(c, netns: str) -> None:
    # A big namespace takes a while to list, and a tick of it longer than 2 s.
    timeout = 300
    pages = Tally()
    req = ipvs_pb2.ListServicesRequest(namespace=netns, include_destinations=True)
    while True:
        page = c.ListServices(req, timeout=timeout)
        pages.add(page, listing(page.services))
        if not page.next_page_token:
            break
        req.page_token = page.next_page_token
    print(pages.line("listed", "pages"), flush=True)

    tick = whole(c.WatchStats(ipvs_pb2.WatchStatsRequest(namespace=netns, interval=Duration(seconds=2)), timeout=timeout),
                 lambda part: [(s.service, len(s.destinations)) for s in part.services], "watch stats")
    print(tick.line("tick", "parts"), flush=True)
    resync = whole(c.WatchEvents(ipvs_pb2.WatchEventsRequest(namespace=netns), timeout=timeout),
                   lambda part: listing(part.snapshot), "watch events")
    print(resync.line("resync", "parts"), flush=True)


def whole(stream, entries, what):
    """The parts of one message of a stream, until the one with more = false."""
    tally = Tally()
    for part in stream:
        tally.add(part, entries(part))
        if not part.more:
            break
    else:
        sys.exit(f"{what}: the stream ended part-way through a message")
    stream.cancel()
    return tally


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--addr", default="127.0.0.1:50051", help="host:port or unix:/path")
    p.add_argument("--netns", default="")
    p.add_argument("--vip", default="192.0.2.10")
    p.add_argument("--expect", type=int, default=1)
    p.add_argument("--count", action="store_true", help="only count what a listing, a stats tick and a resync hold")
    a = p.parse_args()

    with grpc.insecure_channel(a.addr, options=CHANNEL_OPTIONS) as channel:
        c = ipvs_pb2_grpc.IpvsServiceStub(channel)
        if a.count:
            count(c, a.netns)
            return
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
