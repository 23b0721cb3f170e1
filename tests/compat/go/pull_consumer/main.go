// pull_consumer: the nats.go (Debian golang-github-nats-io-go-nats-dev) pull-consumer path a
// new user takes: PullSubscribe, Fetch, Ack, NakWithDelay, InProgress, Term, ConsumerInfo.
// Run by hand against tern-server and nats-server and diff the transcripts (see README.md);
// not part of ctest. Every line it prints is deterministic (no timestamps), so the two
// transcripts of a compatible server are identical; "FAIL" lines mark broken expectations.
//
//	go run . -url nats://127.0.0.1:4222
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

var failures int

func check(ok bool, what string, args ...any) {
	status := "ok  "
	if !ok {
		status = "FAIL"
		failures++
	}
	fmt.Printf("%s %s\n", status, fmt.Sprintf(what, args...))
}

func must(err error, what string) {
	if err != nil {
		fmt.Printf("FAIL %s: %v\n", what, err)
		os.Exit(1)
	}
}

func info(sub *nats.Subscription) string {
	ci, err := sub.ConsumerInfo()
	must(err, "ConsumerInfo")
	return fmt.Sprintf("pending=%d ack_pending=%d redelivered=%d waiting=%d delivered=%d/%d ack_floor=%d/%d",
		ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting,
		ci.Delivered.Consumer, ci.Delivered.Stream, ci.AckFloor.Consumer, ci.AckFloor.Stream)
}

func describe(m *nats.Msg) string {
	md, err := m.Metadata()
	must(err, "Metadata")
	return fmt.Sprintf("%s %q stream_seq=%d consumer_seq=%d delivered=%d pending=%d stream=%s consumer=%s",
		m.Subject, string(m.Data), md.Sequence.Stream, md.Sequence.Consumer, md.NumDelivered, md.NumPending,
		md.Stream, md.Consumer)
}

func main() {
	url := flag.String("url", nats.DefaultURL, "server URL")
	flag.Parse()
	start := time.Now()

	nc, err := nats.Connect(*url, nats.Timeout(2*time.Second))
	must(err, "Connect")
	defer nc.Close()
	js, err := nc.JetStream()
	must(err, "JetStream")

	_ = js.DeleteStream("ORDERS")
	_, err = js.AddStream(&nats.StreamConfig{Name: "ORDERS", Subjects: []string{"ORDERS.*"}})
	must(err, "AddStream")
	for i := 1; i <= 10; i++ {
		subj := "ORDERS.new"
		if i%2 == 0 {
			subj = "ORDERS.paid"
		}
		ack, err := js.Publish(subj, []byte(fmt.Sprintf("order-%d", i)))
		must(err, "Publish")
		check(ack.Stream == "ORDERS" && ack.Sequence == uint64(i), "publish %d acked seq %d", i, ack.Sequence)
	}

	// A durable pull consumer, as the nats.go docs show it. nats.go 1.22 sets max_ack_pending
	// to the capacity of its message channel (65536) itself.
	const ackWait = 500 * time.Millisecond
	sub, err := js.PullSubscribe("ORDERS.*", "worker", nats.AckExplicit(), nats.AckWait(ackWait))
	must(err, "PullSubscribe")
	ci, err := sub.ConsumerInfo()
	must(err, "ConsumerInfo")
	fmt.Printf("info after create: %s\n", info(sub))
	check(ci.Config.Durable == "worker" && ci.Config.AckPolicy == nats.AckExplicitPolicy && ci.Config.AckWait == ackWait &&
		ci.Config.FilterSubject == "ORDERS.*" && ci.Config.MaxAckPending == 65536,
		"consumer config durable=%s ack=%v ack_wait=%v filter=%s max_ack_pending=%d",
		ci.Config.Durable, ci.Config.AckPolicy, ci.Config.AckWait, ci.Config.FilterSubject, ci.Config.MaxAckPending)

	msgs, err := sub.Fetch(10, nats.MaxWait(2*time.Second))
	must(err, "Fetch(10)")
	check(len(msgs) == 10, "Fetch(10) returned %d messages", len(msgs))
	for _, m := range msgs {
		fmt.Printf("  fetched %s\n", describe(m))
	}
	fmt.Printf("info after fetch: %s\n", info(sub))

	// 1-5: ack (the first with AckSync, which waits for the server's confirmation).
	must(msgs[0].AckSync(), "AckSync")
	for _, m := range msgs[1:5] {
		must(m.Ack(), "Ack")
	}
	// 6: NakWithDelay(300ms); 7: InProgress then Ack; 8: Term; 9: Nak; 10: left alone (ack_wait).
	must(msgs[5].NakWithDelay(300*time.Millisecond), "NakWithDelay")
	must(msgs[6].InProgress(), "InProgress")
	must(msgs[7].Term(), "Term")
	must(msgs[8].Nak(), "Nak")
	must(nc.Flush(), "Flush")
	must(msgs[6].AckSync(), "AckSync after InProgress")
	fmt.Printf("info after acks: %s\n", info(sub))

	// Redeliveries: the nak'd one at once, the delayed nak after 300 ms, the unacked after ack_wait.
	var again []string
	deadline := time.Now().Add(3 * time.Second)
	for len(again) < 3 && time.Now().Before(deadline) {
		batch, err := sub.Fetch(3, nats.MaxWait(200*time.Millisecond))
		if err != nil && !errors.Is(err, nats.ErrTimeout) {
			must(err, "Fetch redeliveries")
		}
		for _, m := range batch {
			md, _ := m.Metadata()
			again = append(again, fmt.Sprintf("%s delivered=%d", string(m.Data), md.NumDelivered))
			must(m.AckSync(), "AckSync redelivery")
		}
	}
	fmt.Printf("redelivered (in order): %v\n", again)
	want := []string{"order-9 delivered=2", "order-6 delivered=2", "order-10 delivered=2"}
	check(fmt.Sprint(again) == fmt.Sprint(want), "redeliveries are nak, nak-with-delay, ack_wait: %v", again)

	// Nothing left: Fetch times out.
	t0 := time.Now()
	_, err = sub.Fetch(1, nats.MaxWait(300*time.Millisecond))
	check(errors.Is(err, nats.ErrTimeout), "Fetch on an empty consumer: %v", err)
	check(time.Since(t0) >= 250*time.Millisecond, "it waited for MaxWait")
	fmt.Printf("final info: %s\n", info(sub))
	ci, err = sub.ConsumerInfo()
	must(err, "ConsumerInfo")
	check(ci.NumAckPending == 0 && ci.NumPending == 0 && ci.AckFloor.Stream == 10, "all handled: ack floor stream seq %d", ci.AckFloor.Stream)

	// nats.go deletes a consumer that PullSubscribe created when the subscription goes.
	must(sub.Unsubscribe(), "Unsubscribe")
	_, err = js.ConsumerInfo("ORDERS", "worker")
	check(errors.Is(err, nats.ErrConsumerNotFound), "ConsumerInfo after Unsubscribe: %v", err)
	_, err = js.AddConsumer("ORDERS", &nats.ConsumerConfig{Durable: "other", AckPolicy: nats.AckExplicitPolicy})
	must(err, "AddConsumer")
	names := []string{}
	for n := range js.ConsumerNames("ORDERS") {
		names = append(names, n)
	}
	check(fmt.Sprint(names) == "[other]", "ConsumerNames: %v", names)
	must(js.DeleteConsumer("ORDERS", "other"), "DeleteConsumer")
	_, err = js.ConsumerInfo("ORDERS", "other")
	check(errors.Is(err, nats.ErrConsumerNotFound), "ConsumerInfo after delete: %v", err)

	fmt.Fprintf(os.Stderr, "elapsed %v, failures %d\n", time.Since(start).Round(time.Millisecond), failures)
	if failures > 0 {
		os.Exit(1)
	}
}
