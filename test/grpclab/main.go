// Command lab-grpc is the gRPC side of the end-to-end tests: a server of
// gRPC's interop test service (unary, client, server and bidirectional
// streaming, status codes, metadata and trailers, deadlines) with gRPC's
// health service, and a client running the matching cases, so that a
// gRPC path through lbd is judged by grpc-go itself.
//
//	lab-grpc serve -addr 192.0.2.21:50051
//	lab-grpc call -addr 192.0.2.11:50051 [-ca ca.pem -sni www.example.com]
//
// call runs every case and prints "PASS name" for each; a failure exits
// non-zero saying what went wrong.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: lab-grpc serve|call -addr HOST:PORT [-ca FILE -sni NAME]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "", "listen (serve) or connect (call) address")
	ca := fs.String("ca", "", "call: TLS, trusting this CA file")
	sni := fs.String("sni", "", "call: the TLS server name")
	fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "serve":
		serve(*addr)
	case "call":
		if err := call(*addr, *ca, *sni); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", os.Args[1])
		os.Exit(2)
	}
}

// server is the test service.
type server struct {
	testgrpc.UnimplementedTestServiceServer
}

func payload(n int32) *testgrpc.Payload {
	return &testgrpc.Payload{Body: bytes.Repeat([]byte{'p'}, int(n))}
}

func echoMetadata(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-grpc-test-echo-initial"); len(v) > 0 {
		grpc.SetHeader(ctx, metadata.Pairs("x-grpc-test-echo-initial", v[0]))
	}
	if v := md.Get("x-grpc-test-echo-trailing-bin"); len(v) > 0 {
		grpc.SetTrailer(ctx, metadata.Pairs("x-grpc-test-echo-trailing-bin", v[0]))
	}
}

func (server) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, nil
}

func (server) UnaryCall(ctx context.Context, r *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	echoMetadata(ctx)
	if s := r.GetResponseStatus(); s != nil && s.Code != 0 {
		return nil, status.Error(codes.Code(s.Code), s.Message)
	}
	return &testgrpc.SimpleResponse{Payload: payload(r.ResponseSize)}, nil
}

func (server) StreamingOutputCall(r *testgrpc.StreamingOutputCallRequest, s testgrpc.TestService_StreamingOutputCallServer) error {
	for _, p := range r.ResponseParameters {
		if err := s.Send(&testgrpc.StreamingOutputCallResponse{Payload: payload(p.Size)}); err != nil {
			return err
		}
	}
	return nil
}

func (server) StreamingInputCall(s testgrpc.TestService_StreamingInputCallServer) error {
	var total int32
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return s.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: total})
		}
		if err != nil {
			return err
		}
		total += int32(len(r.Payload.GetBody()))
	}
}

func (server) FullDuplexCall(s testgrpc.TestService_FullDuplexCallServer) error {
	echoMetadata(s.Context())
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range r.ResponseParameters {
			if p.IntervalUs > 0 {
				select {
				case <-time.After(time.Duration(p.IntervalUs) * time.Microsecond):
				case <-s.Context().Done():
					return s.Context().Err()
				}
			}
			if err := s.Send(&testgrpc.StreamingOutputCallResponse{Payload: payload(p.Size)}); err != nil {
				return err
			}
		}
	}
}

func serve(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(s, server{})
	hs := health.NewServer()
	hs.SetServingStatus("", healthgrpc.HealthCheckResponse_SERVING)
	healthgrpc.RegisterHealthServer(s, hs)
	fmt.Println("serving on", addr)
	if err := s.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func call(addr, ca, sni string) error {
	creds := insecure.NewCredentials()
	if ca != "" {
		c, err := credentials.NewClientTLSFromFile(ca, sni)
		if err != nil {
			return err
		}
		creds = c
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	tc := testgrpc.NewTestServiceClient(conn)
	cases := []struct {
		name string
		run  func(context.Context, testgrpc.TestServiceClient) error
	}{
		{"empty_unary", func(ctx context.Context, tc testgrpc.TestServiceClient) error {
			_, err := tc.EmptyCall(ctx, &testgrpc.Empty{})
			return err
		}},
		{"large_unary", largeUnary},
		{"client_streaming", clientStreaming},
		{"server_streaming", serverStreaming},
		{"ping_pong", pingPong},
		{"deadline_exceeded", deadline},
		{"status_code_and_message", statusCode},
		{"custom_metadata", customMetadata},
		{"cancel_after_begin", cancelAfterBegin},
		{"health", func(ctx context.Context, _ testgrpc.TestServiceClient) error {
			r, err := healthgrpc.NewHealthClient(conn).Check(ctx, &healthgrpc.HealthCheckRequest{})
			if err == nil && r.Status != healthgrpc.HealthCheckResponse_SERVING {
				err = fmt.Errorf("status %v", r.Status)
			}
			return err
		}},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := c.run(ctx, tc)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		fmt.Println("PASS", c.name)
	}
	return nil
}

func largeUnary(ctx context.Context, tc testgrpc.TestServiceClient) error {
	r, err := tc.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: 314159, Payload: payload(271828)})
	if err == nil && len(r.Payload.GetBody()) != 314159 {
		err = fmt.Errorf("%d bytes back", len(r.Payload.GetBody()))
	}
	return err
}

func clientStreaming(ctx context.Context, tc testgrpc.TestServiceClient) error {
	s, err := tc.StreamingInputCall(ctx)
	if err != nil {
		return err
	}
	for _, n := range []int32{27182, 8, 1828, 45904} {
		if err := s.Send(&testgrpc.StreamingInputCallRequest{Payload: payload(n)}); err != nil {
			return err
		}
	}
	r, err := s.CloseAndRecv()
	if err == nil && r.AggregatedPayloadSize != 74922 {
		err = fmt.Errorf("aggregated %d", r.AggregatedPayloadSize)
	}
	return err
}

func serverStreaming(ctx context.Context, tc testgrpc.TestServiceClient) error {
	sizes := []int32{31415, 9, 2653, 58979}
	var params []*testgrpc.ResponseParameters
	for _, n := range sizes {
		params = append(params, &testgrpc.ResponseParameters{Size: n})
	}
	s, err := tc.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			if i != len(sizes) {
				return fmt.Errorf("%d responses", i)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if i >= len(sizes) || int32(len(r.Payload.GetBody())) != sizes[i] {
			return fmt.Errorf("response %d: %d bytes", i, len(r.Payload.GetBody()))
		}
	}
}

func pingPong(ctx context.Context, tc testgrpc.TestServiceClient) error {
	s, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	for _, n := range []int32{31415, 9, 2653, 58979} {
		req := &testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: n}}, Payload: payload(n)}
		if err := s.Send(req); err != nil {
			return err
		}
		// Each answer comes back before the next message goes: streaming
		// both ways, not buffered.
		r, err := s.Recv()
		if err != nil {
			return err
		}
		if int32(len(r.Payload.GetBody())) != n {
			return fmt.Errorf("%d bytes back, want %d", len(r.Payload.GetBody()), n)
		}
	}
	s.CloseSend()
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("after CloseSend: %v", err)
	}
	return nil
}

func deadline(ctx context.Context, tc testgrpc.TestServiceClient) error {
	ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	s, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	s.Send(&testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{Size: 1, IntervalUs: 2e6}}})
	_, err = s.Recv()
	if status.Code(err) != codes.DeadlineExceeded {
		return fmt.Errorf("got %v, want DeadlineExceeded", err)
	}
	return nil
}

func statusCode(ctx context.Context, tc testgrpc.TestServiceClient) error {
	_, err := tc.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Code: 2, Message: "test status message"}})
	if st, _ := status.FromError(err); st.Code() != codes.Unknown || st.Message() != "test status message" {
		return fmt.Errorf("got %v", err)
	}
	return nil
}

func customMetadata(ctx context.Context, tc testgrpc.TestServiceClient) error {
	ctx = metadata.AppendToOutgoingContext(ctx, "x-grpc-test-echo-initial", "test_initial_metadata_value",
		"x-grpc-test-echo-trailing-bin", "\xab\xab\xab")
	var hdr, tr metadata.MD
	if _, err := tc.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: 1}, grpc.Header(&hdr), grpc.Trailer(&tr)); err != nil {
		return err
	}
	if v := hdr.Get("x-grpc-test-echo-initial"); len(v) != 1 || v[0] != "test_initial_metadata_value" {
		return fmt.Errorf("initial metadata %v", hdr)
	}
	if v := tr.Get("x-grpc-test-echo-trailing-bin"); len(v) != 1 || v[0] != "\xab\xab\xab" {
		return fmt.Errorf("trailing metadata %v", tr)
	}
	return nil
}

func cancelAfterBegin(ctx context.Context, tc testgrpc.TestServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := tc.StreamingInputCall(ctx)
	if err != nil {
		return err
	}
	cancel()
	if _, err := s.CloseAndRecv(); status.Code(err) != codes.Canceled {
		return fmt.Errorf("got %v, want Canceled", err)
	}
	return nil
}
