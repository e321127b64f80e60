// A Go client of ipvsd, a module-mode program requiring the module
// github.com/ipvsd/ipvsd/gen/go: it dials with the API's default service
// config (its reads retry on UNAVAILABLE; grpc-go before 1.40 needs
// GRPC_GO_RETRY=on for that) and keepalive pings on idle streams, then
// creates a service with two destinations, reads it back, watches its
// counters until they show `-expect` connections (at most 10 ticks), and
// deletes it. It prints one line per step; the e2e test reads them.
//
// With -count it only reads, whatever the namespace holds, with grpc-go's
// stock 4 MiB message limit: every page of ListServices, one whole
// WatchStats tick and the first WatchEvents message (its resync), joining
// the parts, and prints one line for each (see count.go).
//
//	go run . -addr 127.0.0.1:50051 -netns blue -expect 4   (with network; offline: scripts/build-go-example.sh)
//	go run . -addr 127.0.0.1:50051 -netns blue -count
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	ipvsv1 "github.com/ipvsd/ipvsd/gen/go/ipvs/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/types/known/durationpb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "ipvsd address (host:port or unix:/path)")
	netns := flag.String("netns", "", "network namespace")
	vip := flag.String("vip", "192.0.2.10", "virtual IP")
	expect := flag.Uint64("expect", 1, "connections to wait for while watching")
	count := flag.Bool("count", false, "only count what a listing, a stats tick and a resync hold")
	flag.Parse()

	conn, err := grpc.Dial(*addr,
		grpc.WithInsecure(), // grpc-go 1.34+ also has credentials/insecure; Debian 12's 1.33 has not
		grpc.WithDefaultServiceConfig(ipvsv1.DefaultServiceConfig),
		// A ping after 60 s without activity, answered within 20 s, and none without a call: the server permits
		// one every 30 s at most, and only while a call (a WatchStats, say) is open.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 60 * time.Second, Timeout: 20 * time.Second}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := ipvsv1.NewIpvsServiceClient(conn)
	if *count {
		// A big namespace takes a while to list, and a tick of it longer than 2 s.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		countAll(ctx, c, *netns)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	id := &ipvsv1.ServiceId{Address: *vip, Protocol: ipvsv1.Protocol_PROTOCOL_TCP, Port: 80}
	if _, err := c.CreateService(ctx, &ipvsv1.CreateServiceRequest{
		Namespace: *netns, Service: &ipvsv1.Service{Id: id, SchedName: "rr"},
	}); err != nil {
		log.Fatal("create service: ", err)
	}
	for _, rs := range []string{"203.0.113.2", "203.0.113.6"} {
		if _, err := c.CreateDestination(ctx, &ipvsv1.CreateDestinationRequest{
			Namespace: *netns, Service: id,
			Destination: &ipvsv1.Destination{Address: rs, Port: 8080},
		}); err != nil {
			log.Fatal("create destination: ", err)
		}
	}
	got, err := c.GetService(ctx, &ipvsv1.GetServiceRequest{Namespace: *netns, Service: id, IncludeDestinations: true})
	if err != nil {
		log.Fatal("get service: ", err)
	}
	fmt.Printf("created %s %d destinations\n", got.Service.Service.SchedName, len(got.Service.Destinations))

	stream, err := c.WatchStats(ctx, &ipvsv1.WatchStatsRequest{
		Namespace: *netns, Services: []*ipvsv1.ServiceId{id}, Interval: durationpb.New(2 * time.Second),
	})
	if err != nil {
		log.Fatal("watch: ", err)
	}
	for tick := 0; tick < 10; tick++ {
		snap, err := stream.Recv()
		if err != nil {
			log.Fatal("watch: ", err)
		}
		conns := snap.Services[0].Stats.Connections
		fmt.Printf("tick connections=%d\n", conns)
		if conns >= *expect {
			break
		}
	}

	if _, err := c.DeleteService(ctx, &ipvsv1.DeleteServiceRequest{Namespace: *netns, Service: id}); err != nil {
		log.Fatal("delete service: ", err)
	}
	fmt.Println("deleted")
}
