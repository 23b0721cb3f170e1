// JetStream pull consumers through nats.js v2 (jsm.consumers.*, consumers.get() + fetch/next/
// consume, the older js.fetch / js.pullSubscribe): "a worker pulls a batch, processes it,
// acks; what is not acked in time comes back". Expected values are those of nats-server
// 2.9.10 (shared/spec/jetstream-api.md §8-§10). One server with -js and a fresh store dir for
// the file; each case uses its own stream.
//
// Timing: consumers that test redelivery use ack_wait 300 ms; waits poll with short steps,
// and a fetch that may find nothing uses no_wait (js.fetch) so it returns at once.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { connect, JSONCodec, nats, rejectsWithApiError, serverKind, startServer, StringCodec } from "./harness.mjs";

const T = { timeout: 8000 };
const sc = StringCodec();
const jc = JSONCodec();
const { nanos } = nats;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CONSUMER_NOT_FOUND = { code: 404, errCode: 10014, description: "consumer not found" };
const ACK_WAIT_MS = 300;

// The counters a worker looks at in consumer info.
function counters(ci) {
  return {
    num_pending: ci.num_pending,
    num_ack_pending: ci.num_ack_pending,
    num_redelivered: ci.num_redelivered,
    delivered: { consumer_seq: ci.delivered.consumer_seq, stream_seq: ci.delivered.stream_seq },
    ack_floor: { consumer_seq: ci.ack_floor.consumer_seq, stream_seq: ci.ack_floor.stream_seq },
  };
}

// Polls fn() every 20 ms until it returns a truthy value; fails after ms.
async function until(fn, ms = 3000, what = "condition") {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe(`nats.js pull consumers against ${serverKind}`, () => {
  let server;
  let nc;
  let jsm;
  let js;

  before(async () => {
    server = await startServer({ jetstream: true });
    nc = await connect({ servers: server.url, timeout: 2000, reconnect: false });
    jsm = await nc.jetstreamManager();
    js = nc.jetstream();
  });
  after(async () => {
    if (nc && !nc.isClosed()) await nc.close();
    if (server) await server.stop();
  });

  // A stream `name` on `<lower name>.*` with n messages "0".."n-1" on `<lower>.<i % 2 ? b : a>`.
  async function streamWith(name, n, extra = {}) {
    const prefix = name.toLowerCase();
    await jsm.streams.add({ name, subjects: [`${prefix}.*`], ...extra });
    for (let i = 0; i < n; i++) await js.publish(`${prefix}.${i % 2 ? "b" : "a"}`, sc.encode(String(i)));
    return prefix;
  }
  const explicit = (durable, extra = {}) => ({ durable_name: durable, ack_policy: "explicit", ack_wait: nanos(ACK_WAIT_MS), ...extra });

  // Whatever is available now, at most `batch`: a no_wait pull that ends at once when empty.
  async function fetchNow(stream, durable, batch) {
    const got = [];
    for await (const m of js.fetch(stream, durable, { batch, no_wait: true })) got.push(m);
    return got;
  }

  it("adds a durable pull consumer with the defaulted config and counters", T, async () => {
    await streamWith("CINFO", 5);
    const ci = await jsm.consumers.add("CINFO", explicit("worker"));
    assert.equal(ci.stream_name, "CINFO");
    assert.equal(ci.name, "worker");
    assert.deepEqual(
      {
        durable_name: ci.config.durable_name,
        name: ci.config.name,
        deliver_policy: ci.config.deliver_policy,
        ack_policy: ci.config.ack_policy,
        ack_wait: ci.config.ack_wait,
        max_deliver: ci.config.max_deliver,
        replay_policy: ci.config.replay_policy,
        max_waiting: ci.config.max_waiting,
        max_ack_pending: ci.config.max_ack_pending,
        deliver_subject: ci.config.deliver_subject,
      },
      {
        durable_name: "worker",
        name: "worker",
        deliver_policy: "all",
        ack_policy: "explicit",
        ack_wait: nanos(ACK_WAIT_MS),
        max_deliver: -1,
        replay_policy: "instant",
        max_waiting: 512,
        max_ack_pending: 1000,
        deliver_subject: undefined,
      },
    );
    assert.deepEqual(counters(ci), {
      num_pending: 5,
      num_ack_pending: 0,
      num_redelivered: 0,
      delivered: { consumer_seq: 0, stream_seq: 0 },
      ack_floor: { consumer_seq: 0, stream_seq: 0 },
    });
    assert.equal(ci.num_waiting, 0);
    assert.ok(!Number.isNaN(Date.parse(ci.created)), `created is a timestamp: ${ci.created}`);
    const again = await jsm.consumers.info("CINFO", "worker");
    assert.deepEqual(again.config, ci.config);
    assert.equal(again.created, ci.created);
    // The same config again is fine (idempotent); the stream counts it once.
    await jsm.consumers.add("CINFO", explicit("worker"));
    assert.equal((await jsm.streams.info("CINFO")).state.consumer_count, 1);
  });

  it("fetches a batch with consumer.fetch, acks it, and the counters follow", T, async () => {
    const prefix = await streamWith("FETCH", 10);
    await jsm.consumers.add("FETCH", explicit("worker"));
    const c = await js.consumers.get("FETCH", "worker");

    const iter = await c.fetch({ max_messages: 4, expires: 2000 });
    const got = [];
    for await (const m of iter) got.push(m);
    assert.deepEqual(got.map((m) => sc.decode(m.data)), ["0", "1", "2", "3"]);
    assert.deepEqual(got.map((m) => m.subject), [`${prefix}.a`, `${prefix}.b`, `${prefix}.a`, `${prefix}.b`]);
    assert.deepEqual(
      got.map((m) => ({ stream: m.info.stream, consumer: m.info.consumer, sseq: m.info.streamSequence, dseq: m.info.deliverySequence, count: m.info.redeliveryCount, pending: m.info.pending, redelivered: m.redelivered })),
      [1, 2, 3, 4].map((i) => ({ stream: "FETCH", consumer: "worker", sseq: i, dseq: i, count: 1, pending: 10 - i, redelivered: false })),
    );
    assert.equal(got[0].seq, 1);
    assert.ok(got[0].reply.startsWith("$JS.ACK.FETCH.worker.1.1.1."), got[0].reply);

    // Delivered, not acked yet.
    assert.deepEqual(counters(await c.info()), {
      num_pending: 6,
      num_ack_pending: 4,
      num_redelivered: 0,
      delivered: { consumer_seq: 4, stream_seq: 4 },
      ack_floor: { consumer_seq: 0, stream_seq: 0 },
    });
    // Ack 1, 2 and 4: the floor stops below the gap at 3.
    for (const m of [got[0], got[1], got[3]]) await m.ackAck();
    assert.deepEqual(counters(await c.info()), {
      num_pending: 6,
      num_ack_pending: 1,
      num_redelivered: 0,
      delivered: { consumer_seq: 4, stream_seq: 4 },
      ack_floor: { consumer_seq: 2, stream_seq: 2 },
    });
    got[2].ack();
    await nc.flush();
    const ci = await until(async () => {
      const ci = await c.info();
      return ci.num_ack_pending === 0 ? ci : null;
    }, 2000, "the plain ack to be processed");
    assert.deepEqual(counters(ci).ack_floor, { consumer_seq: 4, stream_seq: 4 });

    // The rest, with consumer.next() one at a time.
    for (let i = 4; i < 10; i++) {
      const m = await c.next({ expires: 2000 });
      assert.ok(m, `message ${i}`);
      assert.equal(sc.decode(m.data), String(i));
      assert.equal(m.info.pending, 9 - i);
      await m.ackAck();
    }
    assert.deepEqual(counters(await c.info()), {
      num_pending: 0,
      num_ack_pending: 0,
      num_redelivered: 0,
      delivered: { consumer_seq: 10, stream_seq: 10 },
      ack_floor: { consumer_seq: 10, stream_seq: 10 },
    });
  });

  it("answers a no_wait pull on an empty consumer at once (js.fetch ends with no messages)", T, async () => {
    await streamWith("EMPTY", 2);
    await jsm.consumers.add("EMPTY", explicit("worker"));
    const first = await fetchNow("EMPTY", "worker", 10);
    assert.deepEqual(first.map((m) => sc.decode(m.data)), ["0", "1"]);
    for (const m of first) m.ack();
    const t0 = Date.now();
    assert.deepEqual(await fetchNow("EMPTY", "worker", 10), []);
    assert.ok(Date.now() - t0 < 1000, "no_wait does not wait for expires");
    // A waiting pull (js.pull: one message) is answered when a message arrives.
    await js.publish("empty.a", sc.encode("late"));
    const m = await js.pull("EMPTY", "worker", 2000);
    assert.equal(sc.decode(m.data), "late");
    assert.equal(m.info.streamSequence, 3);
    await m.ackAck();
  });

  it("waits for a message with consumer.next and gets it once it is published", T, async () => {
    await streamWith("NEXTW", 0);
    await jsm.consumers.add("NEXTW", explicit("worker"));
    const c = await js.consumers.get("NEXTW", "worker");
    const pending = c.next({ expires: 3000 });
    await until(async () => (await c.info()).num_waiting === 1, 2000, "the pull request to wait");
    await js.publish("nextw.a", sc.encode("hello"));
    const m = await pending;
    assert.ok(m, "next() got the message");
    assert.equal(sc.decode(m.data), "hello");
    await m.ackAck();
    assert.equal((await c.next({ expires: 1000 })), null, "nothing more: next() resolves null at expiry");
  });

  it("redelivers an unacked message after ack_wait, with redelivered and deliveryCount set", T, async () => {
    await streamWith("REDELIVER", 1);
    await jsm.consumers.add("REDELIVER", explicit("worker"));
    const [m1] = await fetchNow("REDELIVER", "worker", 1);
    assert.equal(m1.info.redeliveryCount, 1);
    assert.equal(m1.redelivered, false);
    // Before ack_wait is over: nothing.
    assert.deepEqual(await fetchNow("REDELIVER", "worker", 1), []);
    const t0 = Date.now();
    const m2 = await until(async () => (await fetchNow("REDELIVER", "worker", 1))[0], 3000, "the redelivery");
    assert.ok(Date.now() - t0 >= ACK_WAIT_MS / 3, "not redelivered long before ack_wait");
    assert.deepEqual(
      { data: sc.decode(m2.data), sseq: m2.info.streamSequence, dseq: m2.info.deliverySequence, count: m2.info.redeliveryCount, redelivered: m2.redelivered },
      { data: "0", sseq: 1, dseq: 2, count: 2, redelivered: true },
    );
    const ci = await jsm.consumers.info("REDELIVER", "worker");
    assert.deepEqual(
      { num_redelivered: ci.num_redelivered, num_ack_pending: ci.num_ack_pending, delivered: ci.delivered.consumer_seq },
      { num_redelivered: 1, num_ack_pending: 1, delivered: 2 },
    );
    await m2.ackAck();
    const done = await jsm.consumers.info("REDELIVER", "worker");
    assert.deepEqual(counters(done), {
      num_pending: 0,
      num_ack_pending: 0,
      num_redelivered: 0,
      delivered: { consumer_seq: 2, stream_seq: 1 },
      ack_floor: { consumer_seq: 2, stream_seq: 1 },
    });
    // An ack of the first delivery's subject after the second was acked changes nothing.
    m1.ack();
    await nc.flush();
    assert.deepEqual(counters(await jsm.consumers.info("REDELIVER", "worker")), counters(done));
  });

  it("nak() redelivers at once; nak(delay) not before the delay", T, async () => {
    await streamWith("NAK", 2);
    await jsm.consumers.add("NAK", explicit("worker", { ack_wait: nanos(5000) }));
    const [a, b] = await fetchNow("NAK", "worker", 2);
    const NAK_DELAY_MS = 1000;
    const tNak = Date.now();
    a.nak();
    b.nak(NAK_DELAY_MS);
    await nc.flush();
    const again = await until(async () => (await fetchNow("NAK", "worker", 2))[0], 2000, "the nak'd message");
    assert.deepEqual({ data: sc.decode(again.data), count: again.info.redeliveryCount, redelivered: again.redelivered }, { data: "0", count: 2, redelivered: true });
    await again.ackAck();
    // b's delay is not over yet.
    if (Date.now() - tNak < NAK_DELAY_MS / 2) assert.deepEqual(await fetchNow("NAK", "worker", 2), [], "redelivered before its nak delay");
    const late = await until(async () => (await fetchNow("NAK", "worker", 2))[0], 3000, "the delayed nak");
    assert.ok(Date.now() - tNak >= NAK_DELAY_MS * 0.9, `the delayed message came back after ${Date.now() - tNak} ms, not ${NAK_DELAY_MS}`);
    assert.deepEqual({ data: sc.decode(late.data), count: late.info.redeliveryCount }, { data: "1", count: 2 });
    await late.ackAck();
    const ci = await jsm.consumers.info("NAK", "worker");
    assert.deepEqual({ num_ack_pending: ci.num_ack_pending, ack_floor: ci.ack_floor.stream_seq }, { num_ack_pending: 0, ack_floor: 2 });
  });

  it("working() (+WPI) pushes the ack deadline back", T, async () => {
    await streamWith("WPI", 1);
    await jsm.consumers.add("WPI", explicit("worker"));
    const [m] = await fetchNow("WPI", "worker", 1);
    // Keep saying "working" for ~2.5 ack_waits: no redelivery meanwhile.
    const end = Date.now() + ACK_WAIT_MS * 2.5;
    while (Date.now() < end) {
      await sleep(ACK_WAIT_MS / 3);
      m.working();
      await nc.flush();
      assert.deepEqual(await fetchNow("WPI", "worker", 1), [], "redelivered although the worker said it is working");
    }
    await m.ackAck();
    const ci = await jsm.consumers.info("WPI", "worker");
    assert.deepEqual({ num_redelivered: ci.num_redelivered, num_ack_pending: ci.num_ack_pending, delivered: ci.delivered.consumer_seq }, { num_redelivered: 0, num_ack_pending: 0, delivered: 1 });
  });

  it("term() stops redelivery and counts as handled", T, async () => {
    await streamWith("TERM", 2);
    await jsm.consumers.add("TERM", explicit("worker"));
    const [a, b] = await fetchNow("TERM", "worker", 2);
    a.term();
    await b.ackAck();
    await sleep(ACK_WAIT_MS * 2);
    assert.deepEqual(await fetchNow("TERM", "worker", 2), [], "a term'd message does not come back");
    const ci = await jsm.consumers.info("TERM", "worker");
    assert.deepEqual(counters(ci), {
      num_pending: 0,
      num_ack_pending: 0,
      num_redelivered: 0,
      delivered: { consumer_seq: 2, stream_seq: 2 },
      ack_floor: { consumer_seq: 2, stream_seq: 2 },
    });
  });

  it("stops at max_ack_pending and goes on as acks arrive", T, async () => {
    await streamWith("MAXACK", 5);
    await jsm.consumers.add("MAXACK", explicit("worker", { max_ack_pending: 2, ack_wait: nanos(5000) }));
    const c = await js.consumers.get("MAXACK", "worker");
    // Asks for 5, gets the 2 the limit allows, and the pull ends at its expiry.
    const first = [];
    for await (const m of await c.fetch({ max_messages: 5, expires: 1000 })) first.push(m);
    assert.deepEqual(first.map((m) => sc.decode(m.data)), ["0", "1"]);
    let ci = await c.info();
    assert.deepEqual({ num_ack_pending: ci.num_ack_pending, num_pending: ci.num_pending }, { num_ack_pending: 2, num_pending: 3 });
    await first[0].ackAck();
    const m = await c.next({ expires: 1000 });
    assert.equal(sc.decode(m.data), "2");
    ci = await c.info();
    assert.deepEqual({ num_ack_pending: ci.num_ack_pending, num_pending: ci.num_pending, delivered: ci.delivered.stream_seq }, { num_ack_pending: 2, num_pending: 2, delivered: 3 });
  });

  it("consumes continuously with consumer.consume() and stops cleanly", T, async () => {
    const prefix = await streamWith("CONSUME", 20);
    await jsm.consumers.add("CONSUME", explicit("worker", { ack_wait: nanos(5000) }));
    const c = await js.consumers.get("CONSUME", "worker");
    const msgs = await c.consume({ max_messages: 7, expires: 2000 });
    const seen = [];
    let published = false;
    for await (const m of msgs) {
      seen.push(sc.decode(m.data));
      m.ack();
      if (seen.length === 20 && !published) {
        // More arrive while consuming; the client refills its pulls.
        published = true;
        for (let i = 20; i < 25; i++) await js.publish(`${prefix}.a`, sc.encode(String(i)));
      }
      if (seen.length === 25) break; // ends the consume (stops its pulls); close() after a break would not resolve
    }
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => String(i)));
    const ci = await until(async () => {
      const ci = await c.info();
      return ci.num_ack_pending === 0 ? ci : null;
    }, 2000, "all acks to be processed");
    assert.deepEqual({ num_pending: ci.num_pending, ack_floor: ci.ack_floor.stream_seq }, { num_pending: 0, ack_floor: 25 });
  });

  it("js.pullSubscribe with pull(): batches arrive on the subscription", T, async () => {
    await streamWith("PULLSUB", 6);
    const psub = await js.pullSubscribe("pullsub.*", { config: explicit("psub", { ack_wait: nanos(5000) }) });
    const got = [];
    const done = (async () => {
      for await (const m of psub) {
        got.push(sc.decode(m.data));
        m.ack();
        if (got.length === 6) break;
      }
    })();
    psub.pull({ batch: 4, expires: 1000 });
    await until(() => got.length === 4, 2000, "the first batch of 4");
    psub.pull({ batch: 4, expires: 1000 });
    await done;
    assert.deepEqual(got, ["0", "1", "2", "3", "4", "5"]);
    const ci = await until(async () => {
      const ci = await jsm.consumers.info("PULLSUB", "psub");
      return ci.num_ack_pending === 0 ? ci : null;
    }, 2000, "all acks");
    assert.deepEqual({ num_pending: ci.num_pending, delivered: ci.delivered.stream_seq, ack_floor: ci.ack_floor.stream_seq }, { num_pending: 0, delivered: 6, ack_floor: 6 });
    psub.unsubscribe();
  });

  it("filters on filter_subject: only matching messages, pending counts only them", T, async () => {
    await streamWith("FILTER", 6); // .a: 0, 2, 4; .b: 1, 3, 5
    const ci = await jsm.consumers.add("FILTER", explicit("bonly", { filter_subject: "filter.b" }));
    assert.equal(ci.num_pending, 3);
    const got = await fetchNow("FILTER", "bonly", 10);
    assert.deepEqual(got.map((m) => [m.subject, sc.decode(m.data), m.info.streamSequence, m.info.deliverySequence]), [
      ["filter.b", "1", 2, 1],
      ["filter.b", "3", 4, 2],
      ["filter.b", "5", 6, 3],
    ]);
    for (const m of got) await m.ackAck();
    const after = await jsm.consumers.info("FILTER", "bonly");
    assert.deepEqual(counters(after), {
      num_pending: 0,
      num_ack_pending: 0,
      num_redelivered: 0,
      delivered: { consumer_seq: 3, stream_seq: 6 },
      ack_floor: { consumer_seq: 3, stream_seq: 6 },
    });
  });

  it("lists consumer names and infos, and deletes consumers", T, async () => {
    await streamWith("LISTC", 3);
    for (const d of ["c3", "c1", "c2"]) await jsm.consumers.add("LISTC", explicit(d));
    const infos = [];
    for await (const ci of jsm.consumers.list("LISTC")) infos.push(ci);
    assert.deepEqual(infos.map((ci) => ci.name).sort(), ["c1", "c2", "c3"]);
    assert.ok(infos.every((ci) => ci.stream_name === "LISTC" && ci.num_pending === 3));
    // CONSUMER.NAMES has no nats.js v2 helper; a user would send the request.
    const names = jc.decode((await nc.request("$JS.API.CONSUMER.NAMES.LISTC", jc.encode({}), { timeout: 2000 })).data);
    assert.equal(names.type, "io.nats.jetstream.api.v1.consumer_names_response");
    assert.deepEqual([...names.consumers].sort(), ["c1", "c2", "c3"]);
    assert.equal(names.total, 3);
    assert.equal((await jsm.streams.info("LISTC")).state.consumer_count, 3);

    assert.equal(await jsm.consumers.delete("LISTC", "c2"), true);
    await rejectsWithApiError(assert, jsm.consumers.info("LISTC", "c2"), CONSUMER_NOT_FOUND);
    await rejectsWithApiError(assert, jsm.consumers.delete("LISTC", "c2"), CONSUMER_NOT_FOUND);
    const left = [];
    for await (const ci of jsm.consumers.list("LISTC")) left.push(ci.name);
    assert.deepEqual(left.sort(), ["c1", "c3"]);
    assert.equal((await jsm.streams.info("LISTC")).state.consumer_count, 2);
    // A deleted consumer can be created again, from the start of the stream.
    const back = await jsm.consumers.add("LISTC", explicit("c2"));
    assert.deepEqual({ num_pending: back.num_pending, delivered: back.delivered.consumer_seq }, { num_pending: 3, delivered: 0 });
    // Deleting the stream takes its consumers with it.
    await jsm.streams.delete("LISTC");
    await rejectsWithApiError(assert, jsm.consumers.info("LISTC", "c1"), { code: 404, errCode: 10059, description: "stream not found" });
  });

  it("reports consumer not found, and a different config for an existing durable", T, async () => {
    await streamWith("ERRS", 1);
    await rejectsWithApiError(assert, jsm.consumers.info("ERRS", "nobody"), CONSUMER_NOT_FOUND);
    await jsm.consumers.add("ERRS", explicit("worker"));
    // nats.js sends "action":"create". nats-server 2.9 ignores it and treats the request as an
    // update (500/10012, what is not updatable); a server honouring it (2.10) answers 10148. The
    // spec lets a 2.9-advertising server do either (jetstream-api.md §3).
    let err;
    try {
      await jsm.consumers.add("ERRS", explicit("worker", { deliver_policy: "new" }));
    } catch (e) {
      err = e;
    }
    assert.ok(err?.api_error, `a different config is refused: ${err}`);
    const { code, err_code, description } = err.api_error;
    assert.ok(
      [JSON.stringify([500, 10012, "deliver policy can not be updated"]), JSON.stringify([400, 10148, "consumer already exists"])].includes(JSON.stringify([code, err_code, description])),
      `unexpected error ${code}/${err_code} ${description}`,
    );
    assert.equal((await jsm.consumers.info("ERRS", "worker")).config.deliver_policy, "all", "the consumer is unchanged");
    await rejectsWithApiError(assert, jsm.consumers.add("NOSTREAM", explicit("worker")), { code: 404, errCode: 10059, description: "stream not found" });
  });

  it("creates an ephemeral pull consumer with a server-chosen name", T, async () => {
    await streamWith("EPH", 3);
    const ci = await jsm.consumers.add("EPH", { ack_policy: "explicit", inactive_threshold: nanos(5000) });
    assert.ok(ci.name.length > 0, "the server names it");
    assert.equal(ci.config.durable_name, undefined);
    assert.equal(ci.num_pending, 3);
    const c = await js.consumers.get("EPH", ci.name);
    const iter = await c.fetch({ max_messages: 3, expires: 2000 });
    const got = [];
    for await (const m of iter) {
      got.push(sc.decode(m.data));
      m.ack();
    }
    assert.deepEqual(got, ["0", "1", "2"]);
    const names = [];
    for await (const x of jsm.consumers.list("EPH")) names.push(x.name);
    assert.deepEqual(names, [ci.name]);
    assert.equal(await jsm.consumers.delete("EPH", ci.name), true);
  });

  it("reads a stream with an ordered consumer (js.consumers.get(stream) without a name)", T, async () => {
    // The nats.js docs' first example: the client creates an ephemeral consumer itself
    // (CONSUMER.CREATE.<stream>.<generated name>, ack_policy none, mem_storage, one replica).
    await streamWith("ORDERED", 5);
    const c = await js.consumers.get("ORDERED");
    const got = [];
    for await (const m of await c.fetch({ max_messages: 5, expires: 2000 })) got.push([sc.decode(m.data), m.info.streamSequence]);
    assert.deepEqual(got, [["0", 1], ["1", 2], ["2", 3], ["3", 4], ["4", 5]]);
    const ci = await c.info(true);
    assert.equal(ci.config.ack_policy, "none");
    assert.equal(ci.config.durable_name, undefined);
    const live = await jsm.consumers.info("ORDERED", ci.name);
    assert.deepEqual({ delivered: live.delivered.stream_seq, num_pending: live.num_pending, num_ack_pending: live.num_ack_pending }, { delivered: 5, num_pending: 0, num_ack_pending: 0 });
  });

  it("workqueue stream: acked messages leave the stream, unacked ones stay", T, async () => {
    await streamWith("WQ", 6, { retention: "workqueue" });
    await jsm.consumers.add("WQ", explicit("worker", { ack_wait: nanos(5000) }));
    const got = await fetchNow("WQ", "worker", 4);
    assert.deepEqual(got.map((m) => sc.decode(m.data)), ["0", "1", "2", "3"]);
    for (const m of [got[0], got[1], got[3]]) await m.ackAck();
    const si = await jsm.streams.info("WQ");
    assert.deepEqual({ messages: si.state.messages, first_seq: si.state.first_seq, last_seq: si.state.last_seq }, { messages: 3, first_seq: 3, last_seq: 6 });
    await rejectsWithApiError(assert, jsm.streams.getMessage("WQ", { seq: 1 }), { code: 404, errCode: 10037, description: "no message found" });
    await got[2].ackAck();
    for (const m of await fetchNow("WQ", "worker", 10)) await m.ackAck();
    const empty = await jsm.streams.info("WQ");
    assert.deepEqual({ messages: empty.state.messages, first_seq: empty.state.first_seq, last_seq: empty.state.last_seq }, { messages: 0, first_seq: 7, last_seq: 6 });
    // A second unfiltered consumer on a workqueue stream is refused.
    await rejectsWithApiError(assert, jsm.consumers.add("WQ", explicit("other")), { code: 400, errCode: 10099 });
  });

  it("two workers pulling from one workqueue consumer share the messages, none twice", T, async () => {
    await streamWith("WQ2", 40, { retention: "workqueue" });
    await jsm.consumers.add("WQ2", explicit("worker", { ack_wait: nanos(5000) }));
    const nc2 = await connect({ servers: server.url, timeout: 2000, reconnect: false });
    try {
      const workers = [js, nc2.jetstream()];
      const seen = [[], []];
      await Promise.all(
        workers.map(async (w, i) => {
          const c = await w.consumers.get("WQ2", "worker");
          for (;;) {
            const m = await c.next({ expires: 1000 });
            if (!m) break;
            seen[i].push(Number(sc.decode(m.data)));
            await m.ackAck();
          }
        }),
      );
      const all = [...seen[0], ...seen[1]].sort((a, b) => a - b);
      assert.deepEqual(all, Array.from({ length: 40 }, (_, i) => i), "every message exactly once");
      assert.equal((await jsm.streams.info("WQ2")).state.messages, 0);
    } finally {
      await nc2.close();
    }
  });
});
