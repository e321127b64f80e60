package main

// The -count mode: how many services and destinations a listing, a
// WatchStats tick and a WatchEvents resync hold, and in how many messages,
// the largest of how many bytes. Each arrives in pages or parts, none over
// the server's response limit, and a service whose destinations did not all
// fit continues at the start of the next one (the same ServiceId again), so
// it is counted once.

import (
	"context"
	"fmt"
	"log"
	"time"

	ipvsv1 "github.com/ipvsd/ipvsd/gen/go/ipvs/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// tally counts the messages of one listing, tick or resync.
type tally struct {
	services, destinations, messages, largest int
	last                                      *ipvsv1.ServiceId
}

// add counts message m, whose services are ids, with dests[i] destinations each.
func (t *tally) add(m proto.Message, ids []*ipvsv1.ServiceId, dests []int) {
	t.messages++
	if n := proto.Size(m); n > t.largest {
		t.largest = n
	}
	for i, id := range ids {
		if i > 0 || t.last == nil || !proto.Equal(id, t.last) {
			t.services++
		}
		t.destinations += dests[i]
	}
	if len(ids) > 0 {
		t.last = ids[len(ids)-1]
	}
}

func (t *tally) print(what, messages string) {
	fmt.Printf("%s services=%d destinations=%d %s=%d largest=%d\n", what, t.services, t.destinations, messages, t.messages, t.largest)
}

// ofListing and ofStats give the ServiceIds of services and how many destinations each has.
func ofListing(services []*ipvsv1.ServiceWithDestinations) ([]*ipvsv1.ServiceId, []int) {
	ids, dests := make([]*ipvsv1.ServiceId, len(services)), make([]int, len(services))
	for i, s := range services {
		ids[i], dests[i] = s.GetService().GetId(), len(s.GetDestinations())
	}
	return ids, dests
}

func ofStats(services []*ipvsv1.ServiceStats) ([]*ipvsv1.ServiceId, []int) {
	ids, dests := make([]*ipvsv1.ServiceId, len(services)), make([]int, len(services))
	for i, s := range services {
		ids[i], dests[i] = s.GetService(), len(s.GetDestinations())
	}
	return ids, dests
}

func countAll(ctx context.Context, c ipvsv1.IpvsServiceClient, netns string) {
	var pages tally
	req := &ipvsv1.ListServicesRequest{Namespace: netns, IncludeDestinations: true}
	for {
		page, err := c.ListServices(ctx, req)
		if err != nil {
			log.Fatal("list services: ", err)
		}
		ids, dests := ofListing(page.GetServices())
		pages.add(page, ids, dests)
		if page.GetNextPageToken() == "" {
			break
		}
		req.PageToken = page.GetNextPageToken()
	}
	pages.print("listed", "pages")

	stats, stop := context.WithCancel(ctx)
	ticks, err := c.WatchStats(stats, &ipvsv1.WatchStatsRequest{Namespace: netns, Interval: durationpb.New(2 * time.Second)})
	if err != nil {
		log.Fatal("watch stats: ", err)
	}
	var tick tally
	for more := true; more; {
		part, err := ticks.Recv()
		if err != nil {
			log.Fatal("watch stats: ", err)
		}
		ids, dests := ofStats(part.GetServices())
		tick.add(part, ids, dests)
		more = part.GetMore()
	}
	stop()
	tick.print("tick", "parts")

	events, stop := context.WithCancel(ctx)
	stream, err := c.WatchEvents(events, &ipvsv1.WatchEventsRequest{Namespace: netns})
	if err != nil {
		log.Fatal("watch events: ", err)
	}
	var resync tally
	for more := true; more; {
		part, err := stream.Recv()
		if err != nil {
			log.Fatal("watch events: ", err)
		}
		ids, dests := ofListing(part.GetSnapshot())
		resync.add(part, ids, dests)
		more = part.GetMore()
	}
	stop()
	resync.print("resync", "parts")
}
