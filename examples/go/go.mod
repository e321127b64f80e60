module github.com/ipvsd/ipvsd/examples/go

go 1.16

require (
	github.com/ipvsd/ipvsd/gen/go v0.1.0
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
