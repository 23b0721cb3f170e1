// JetStream streams through nats.js v2 (jsm.streams.*, js.publish): "nats.js creates a stream,
// publishes with acks and reads messages back through STREAM.MSG.GET". Expected values are
// those of nats-server 2.9.10 (shared/spec/jetstream-api.md §5, §7). One server with -js and a
// fresh store dir for the file; each case uses its own stream names and subjects.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { connect, Empty, ErrorCode, headers, JSONCodec, rejectsWithApiError, serverKind, startServer, StringCodec } from "./harness.mjs";

const T = { timeout: 5000 };
const sc = StringCodec();
const STREAM_NOT_FOUND = { code: 404, errCode: 10059, description: "stream not found" };
const NO_MESSAGE_FOUND = { code: 404, errCode: 10037, description: "no message found" };

describe(`nats.js streams against ${serverKind}`, () => {
  let server;
  let nc;
  let jsm;
  let js;

  before(async () => {
    server = await startServer({ jetstream: true });
    nc = await connect({ servers: server.url, timeout: 2000, reconnect: false });
    jsm = await nc.jetstreamManager(); // $JS.API.INFO first: fails unless JetStream answers
    js = nc.jetstream();
  });
  after(async () => {
    if (nc && !nc.isClosed()) await nc.close();
    if (server) await server.stop();
  });

  it("adds a stream and reads its info with the defaulted config", T, async () => {
    const si = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.*"] });
    assert.equal(si.config.name, "ORDERS");
    assert.deepEqual(si.config.subjects, ["orders.*"]);
    assert.deepEqual(
      {
        retention: si.config.retention,
        storage: si.config.storage,
        discard: si.config.discard,
        max_msgs: si.config.max_msgs,
        max_bytes: si.config.max_bytes,
        max_age: si.config.max_age,
        max_msgs_per_subject: si.config.max_msgs_per_subject,
        max_msg_size: si.config.max_msg_size,
        max_consumers: si.config.max_consumers,
        num_replicas: si.config.num_replicas,
        duplicate_window: si.config.duplicate_window,
      },
      {
        retention: "limits",
        storage: "file",
        discard: "old",
        max_msgs: -1,
        max_bytes: -1,
        max_age: 0,
        max_msgs_per_subject: -1,
        max_msg_size: -1,
        max_consumers: -1,
        num_replicas: 1,
        duplicate_window: 120e9, // 2 minutes, in nanoseconds
      },
    );
    assert.deepEqual(
      { messages: si.state.messages, bytes: si.state.bytes, first_seq: si.state.first_seq, last_seq: si.state.last_seq, consumer_count: si.state.consumer_count },
      { messages: 0, bytes: 0, first_seq: 0, last_seq: 0, consumer_count: 0 },
    );
    assert.equal(si.state.first_ts, "0001-01-01T00:00:00Z");
    assert.ok(!Number.isNaN(Date.parse(si.created)), `created is a timestamp: ${si.created}`);

    const info = await jsm.streams.info("ORDERS");
    assert.deepEqual(info.config, si.config);
    assert.deepEqual(info.state, si.state);
    assert.equal(info.created, si.created);
  });

  it("acks js.publish with the stream name and sequences 1, 2, 3", T, async () => {
    await jsm.streams.add({ name: "ACKS", subjects: ["acks.>"] });
    const acks = [];
    for (const subj of ["acks.a", "acks.b", "acks.a.deep"]) acks.push(await js.publish(subj, sc.encode(subj)));
    assert.deepEqual(
      acks.map((a) => ({ stream: a.stream, seq: a.seq, duplicate: a.duplicate })),
      [
        { stream: "ACKS", seq: 1, duplicate: false },
        { stream: "ACKS", seq: 2, duplicate: false },
        { stream: "ACKS", seq: 3, duplicate: false },
      ],
    );
    assert.equal(acks[0].domain, undefined, "no domain configured");
    const si = await jsm.streams.info("ACKS");
    assert.deepEqual(
      { messages: si.state.messages, first_seq: si.state.first_seq, last_seq: si.state.last_seq, num_subjects: si.state.num_subjects },
      { messages: 3, first_seq: 1, last_seq: 3, num_subjects: 3 },
    );
    assert.ok(si.state.bytes > 0);
    assert.ok(Date.parse(si.state.first_ts) <= Date.parse(si.state.last_ts));
    assert.ok(Date.parse(si.state.first_ts) > Date.parse("2020-01-01T00:00:00Z"));
  });

  it("stores core publishes too, and still delivers them to core subscribers", T, async () => {
    await jsm.streams.add({ name: "CORE", subjects: ["core.in"] });
    const sub = nc.subscribe("core.in", { max: 1 });
    nc.publish("core.in", sc.encode("plain")); // no reply subject: stored, no ack
    for await (const m of sub) assert.equal(sc.decode(m.data), "plain");
    const pa = await js.publish("core.in", sc.encode("acked"));
    assert.equal(pa.seq, 2);
    const sm = await jsm.streams.getMessage("CORE", { seq: 1 });
    assert.equal(sm.string(), "plain");
  });

  it("deduplicates on msgID: the second ack is the first sequence with duplicate: true", T, async () => {
    await jsm.streams.add({ name: "DEDUP", subjects: ["dedup.*"] });
    const first = await js.publish("dedup.x", sc.encode("one"), { msgID: "id-1" });
    assert.deepEqual({ stream: first.stream, seq: first.seq, duplicate: first.duplicate }, { stream: "DEDUP", seq: 1, duplicate: false });
    const dup = await js.publish("dedup.x", sc.encode("one again"), { msgID: "id-1" });
    assert.deepEqual({ stream: dup.stream, seq: dup.seq, duplicate: dup.duplicate }, { stream: "DEDUP", seq: 1, duplicate: true });
    const other = await js.publish("dedup.y", sc.encode("two"), { msgID: "id-2" });
    assert.deepEqual({ seq: other.seq, duplicate: other.duplicate }, { seq: 2, duplicate: false });
    const si = await jsm.streams.info("DEDUP");
    assert.equal(si.state.messages, 2);
    assert.equal(si.state.last_seq, 2);
    const sm = await jsm.streams.getMessage("DEDUP", { seq: 1 });
    assert.equal(sm.string(), "one", "the duplicate is not stored");
    assert.equal(sm.header.get("Nats-Msg-Id"), "id-1");
  });

  it("rejects expect.lastSequence mismatches with 10071 and stores nothing", T, async () => {
    await jsm.streams.add({ name: "EXPECT", subjects: ["expect.*"] });
    await js.publish("expect.a", sc.encode("1"));
    await js.publish("expect.b", sc.encode("2"));
    const err = await rejectsWithApiError(assert, js.publish("expect.a", sc.encode("x"), { expect: { lastSequence: 5 } }), {
      code: 400,
      errCode: 10071,
      description: "wrong last sequence: 2",
    });
    assert.equal(err.code, "400", "nats.js puts the HTTP-like code, as a string, in err.code");
    const ok = await js.publish("expect.a", sc.encode("3"), { expect: { lastSequence: 2 } });
    assert.equal(ok.seq, 3);
    assert.equal((await jsm.streams.info("EXPECT")).state.messages, 3);
  });

  it("checks expect.lastSubjectSequence, expect.lastMsgID and expect.streamName", T, async () => {
    await jsm.streams.add({ name: "EXPECT2", subjects: ["expect2.*"] });
    await js.publish("expect2.a", sc.encode("1"), { msgID: "m1" });
    await js.publish("expect2.b", sc.encode("2"), { msgID: "m2" });
    // The last message on expect2.a is seq 1; on expect2.c there is none (0).
    await rejectsWithApiError(assert, js.publish("expect2.a", Empty, { expect: { lastSubjectSequence: 2 } }), {
      code: 400,
      errCode: 10071,
      description: "wrong last sequence: 1",
    });
    assert.equal((await js.publish("expect2.a", Empty, { expect: { lastSubjectSequence: 1 } })).seq, 3);
    assert.equal((await js.publish("expect2.c", Empty, { expect: { lastSubjectSequence: 0 } })).seq, 4);
    // The last message (seq 4) had no Nats-Msg-Id.
    await rejectsWithApiError(assert, js.publish("expect2.a", Empty, { expect: { lastMsgID: "m2" } }), {
      code: 400,
      errCode: 10070,
      description: "wrong last msg ID: ",
    });
    await js.publish("expect2.a", Empty, { msgID: "m5" });
    assert.equal((await js.publish("expect2.a", Empty, { expect: { lastMsgID: "m5" } })).seq, 6);
    await rejectsWithApiError(assert, js.publish("expect2.a", Empty, { expect: { streamName: "OTHER" } }), {
      code: 400,
      errCode: 10060,
      description: "expected stream does not match",
    });
    assert.equal((await js.publish("expect2.a", Empty, { expect: { streamName: "EXPECT2" } })).seq, 7);
  });

  it("reads a message back by seq with its exact subject, data and headers", T, async () => {
    await jsm.streams.add({ name: "GET", subjects: ["get.*"] });
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    const h = headers();
    h.set("X-Trace", "abc-123");
    h.append("X-Multi", "one");
    h.append("X-Multi", "two");
    const before = Date.now();
    await js.publish("get.plain", sc.encode("first"));
    await js.publish("get.bin", bytes, { headers: h });
    await js.publish("get.empty", Empty);

    const m1 = await jsm.streams.getMessage("GET", { seq: 1 });
    assert.deepEqual({ subject: m1.subject, seq: m1.seq, data: m1.string() }, { subject: "get.plain", seq: 1, data: "first" });
    assert.equal(m1.header.keys().length, 0, "js.publish without headers stores no header keys");
    // nats.js sends that publish as HPUB with a 0-byte header block; nothing of it is stored.
    const raw = JSONCodec().decode((await nc.request("$JS.API.STREAM.MSG.GET.GET", JSONCodec().encode({ seq: 1 }), { timeout: 2000 })).data);
    assert.equal(raw.type, "io.nats.jetstream.api.v1.stream_msg_get_response");
    assert.deepEqual(Object.keys(raw.message).sort(), ["data", "seq", "subject", "time"]);

    const m2 = await jsm.streams.getMessage("GET", { seq: 2 });
    assert.deepEqual({ subject: m2.subject, seq: m2.seq }, { subject: "get.bin", seq: 2 });
    assert.deepEqual(Buffer.from(m2.data), Buffer.from(bytes));
    assert.equal(m2.header.get("X-Trace"), "abc-123");
    assert.deepEqual(m2.header.values("X-Multi"), ["one", "two"]);
    assert.deepEqual(m2.header.keys().sort(), ["X-Multi", "X-Trace"]);
    const t = m2.time.getTime();
    assert.ok(t >= before - 1000 && t <= Date.now() + 1000, `stored time ${m2.timestamp} is now`);

    const m3 = await jsm.streams.getMessage("GET", { seq: 3 });
    assert.deepEqual({ subject: m3.subject, seq: m3.seq, length: m3.data.length }, { subject: "get.empty", seq: 3, length: 0 });

    await rejectsWithApiError(assert, jsm.streams.getMessage("GET", { seq: 4 }), NO_MESSAGE_FOUND);
    await rejectsWithApiError(assert, jsm.streams.getMessage("GET", { seq: 99 }), NO_MESSAGE_FOUND);
  });

  it("reads the last message on a subject with last_by_subj", T, async () => {
    await jsm.streams.add({ name: "LAST", subjects: ["last.>"] });
    const h = headers();
    h.set("X-Version", "3");
    await js.publish("last.a", sc.encode("a1"));
    await js.publish("last.b", sc.encode("b1"));
    await js.publish("last.a", sc.encode("a2"), { headers: h });
    await js.publish("last.b.deep", sc.encode("b2"));

    const a = await jsm.streams.getMessage("LAST", { last_by_subj: "last.a" });
    assert.deepEqual({ subject: a.subject, seq: a.seq, data: a.string() }, { subject: "last.a", seq: 3, data: "a2" });
    assert.equal(a.header.get("X-Version"), "3");
    const b = await jsm.streams.getMessage("LAST", { last_by_subj: "last.b" });
    assert.deepEqual({ subject: b.subject, seq: b.seq, data: b.string() }, { subject: "last.b", seq: 2, data: "b1" });
    const any = await jsm.streams.getMessage("LAST", { last_by_subj: "last.>" });
    assert.deepEqual({ subject: any.subject, seq: any.seq }, { subject: "last.b.deep", seq: 4 }, "wildcards are allowed");
    await rejectsWithApiError(assert, jsm.streams.getMessage("LAST", { last_by_subj: "last.none" }), NO_MESSAGE_FOUND);
  });

  it("purges a stream: messages go, last_seq stays, the next publish continues", T, async () => {
    await jsm.streams.add({ name: "PURGE", subjects: ["purge.*"] });
    for (let i = 0; i < 5; i++) await js.publish("purge.x", sc.encode(String(i)));
    const r = await jsm.streams.purge("PURGE");
    assert.deepEqual({ success: r.success, purged: r.purged }, { success: true, purged: 5 });
    const si = await jsm.streams.info("PURGE");
    assert.deepEqual(
      { messages: si.state.messages, bytes: si.state.bytes, first_seq: si.state.first_seq, last_seq: si.state.last_seq },
      { messages: 0, bytes: 0, first_seq: 6, last_seq: 5 },
    );
    await rejectsWithApiError(assert, jsm.streams.getMessage("PURGE", { seq: 5 }), NO_MESSAGE_FOUND);
    assert.equal((await js.publish("purge.x", sc.encode("after"))).seq, 6);
    assert.equal((await jsm.streams.getMessage("PURGE", { seq: 6 })).string(), "after");
  });

  it("purges by filter, keep and seq", T, async () => {
    await jsm.streams.add({ name: "PURGE2", subjects: ["purge2.*"] });
    for (let i = 1; i <= 6; i++) await js.publish(i % 2 ? "purge2.odd" : "purge2.even", sc.encode(String(i)));
    // 1 odd, 2 even, 3 odd, 4 even, 5 odd, 6 even
    let r = await jsm.streams.purge("PURGE2", { filter: "purge2.odd", keep: 1 });
    assert.deepEqual({ success: r.success, purged: r.purged }, { success: true, purged: 2 });
    r = await jsm.streams.purge("PURGE2", { seq: 4 }); // below 4, not including it: removes 2
    assert.deepEqual({ success: r.success, purged: r.purged }, { success: true, purged: 1 });
    const si = await jsm.streams.info("PURGE2");
    assert.deepEqual({ messages: si.state.messages, first_seq: si.state.first_seq, last_seq: si.state.last_seq }, { messages: 3, first_seq: 4, last_seq: 6 });
    r = await jsm.streams.purge("PURGE2", { filter: "purge2.even" });
    assert.deepEqual({ success: r.success, purged: r.purged }, { success: true, purged: 2 });
    const left = await jsm.streams.getMessage("PURGE2", { seq: 5 });
    assert.equal(left.string(), "5");
    assert.equal((await jsm.streams.info("PURGE2")).state.messages, 1);
  });

  it("deletes single messages, and reports a sequence that is not there", T, async () => {
    await jsm.streams.add({ name: "MSGDEL", subjects: ["msgdel.*"] });
    for (let i = 1; i <= 4; i++) await js.publish("msgdel.x", sc.encode(String(i)));
    assert.equal(await jsm.streams.deleteMessage("MSGDEL", 2), true); // erase (nats.js default)
    assert.equal(await jsm.streams.deleteMessage("MSGDEL", 3, false), true); // no_erase
    await rejectsWithApiError(assert, jsm.streams.getMessage("MSGDEL", { seq: 2 }), NO_MESSAGE_FOUND);
    await rejectsWithApiError(assert, jsm.streams.getMessage("MSGDEL", { seq: 3 }), NO_MESSAGE_FOUND);
    assert.equal((await jsm.streams.getMessage("MSGDEL", { seq: 4 })).string(), "4");
    const si = await jsm.streams.info("MSGDEL");
    assert.deepEqual(
      { messages: si.state.messages, first_seq: si.state.first_seq, last_seq: si.state.last_seq, num_deleted: si.state.num_deleted },
      { messages: 2, first_seq: 1, last_seq: 4, num_deleted: 2 },
    );
    // A sequence already deleted: 10043. Past last_seq the 2.9.10 file store answers with its
    // own error, 500/10057 "stream store EOF" (the memory store says 10043 there too).
    await rejectsWithApiError(assert, jsm.streams.deleteMessage("MSGDEL", 2), { code: 400, errCode: 10043, description: "sequence 2 not found" });
    await rejectsWithApiError(assert, jsm.streams.deleteMessage("MSGDEL", 9), { code: 500, errCode: 10057, description: "stream store EOF" });
    // Deleting the first message moves first_seq past the gap.
    assert.equal(await jsm.streams.deleteMessage("MSGDEL", 1), true);
    const after = await jsm.streams.info("MSGDEL");
    assert.deepEqual({ messages: after.state.messages, first_seq: after.state.first_seq }, { messages: 1, first_seq: 4 });
  });

  it("deletes a stream: its info, messages and subjects are gone", T, async () => {
    await jsm.streams.add({ name: "GONE", subjects: ["gone.*"] });
    await js.publish("gone.x", sc.encode("x"));
    assert.equal(await jsm.streams.delete("GONE"), true);
    await rejectsWithApiError(assert, jsm.streams.info("GONE"), STREAM_NOT_FOUND);
    await rejectsWithApiError(assert, jsm.streams.getMessage("GONE", { seq: 1 }), STREAM_NOT_FOUND);
    // Nothing captures gone.* now: the publish gets core no-responders.
    await assert.rejects(js.publish("gone.x", sc.encode("y"), { timeout: 2000 }), (err) => {
      assert.equal(err.code, ErrorCode.NoResponders);
      return true;
    });
    // The name and subjects can be used again, from sequence 1.
    await jsm.streams.add({ name: "GONE", subjects: ["gone.*"] });
    assert.equal((await js.publish("gone.x", sc.encode("z"))).seq, 1);
  });

  it("lists stream names and infos, sorted by name, optionally by subject", T, async () => {
    // Added out of order; names() and list() return them sorted.
    await jsm.streams.add({ name: "LIST_C", subjects: ["list.c.>"] });
    await jsm.streams.add({ name: "LIST_A", subjects: ["list.a"] });
    await jsm.streams.add({ name: "LIST_B", subjects: ["list.b.*"] });
    await js.publish("list.b.1", sc.encode("b"));

    const names = [];
    for await (const n of jsm.streams.names()) names.push(n);
    assert.deepEqual(names, [...names].sort(), "names are sorted");
    assert.deepEqual(names.filter((n) => n.startsWith("LIST_")), ["LIST_A", "LIST_B", "LIST_C"]);

    const infos = [];
    for await (const si of jsm.streams.list()) infos.push(si);
    assert.deepEqual(infos.map((si) => si.config.name), names, "list() returns the same streams, in the same order");
    const b = infos.find((si) => si.config.name === "LIST_B");
    assert.deepEqual(b.config.subjects, ["list.b.*"]);
    assert.equal(b.state.messages, 1);

    const bySubject = async (subject) => {
      const out = [];
      for await (const n of jsm.streams.names(subject)) out.push(n);
      return out;
    };
    assert.deepEqual(await bySubject("list.b.1"), ["LIST_B"]);
    assert.deepEqual(await bySubject("list.*"), ["LIST_A"]);
    assert.deepEqual(await bySubject("list.>"), ["LIST_A", "LIST_B", "LIST_C"]);
    assert.deepEqual(await bySubject("nothing.here"), []);
    assert.equal(await jsm.streams.find("list.c.x.y"), "LIST_C");
  });

  it("reports stream not found (10059) from info, purge, msg get, msg delete and delete", T, async () => {
    await rejectsWithApiError(assert, jsm.streams.info("NOPE"), STREAM_NOT_FOUND);
    await rejectsWithApiError(assert, jsm.streams.purge("NOPE"), STREAM_NOT_FOUND);
    await rejectsWithApiError(assert, jsm.streams.getMessage("NOPE", { seq: 1 }), STREAM_NOT_FOUND);
    await rejectsWithApiError(assert, jsm.streams.deleteMessage("NOPE", 1), STREAM_NOT_FOUND);
    const err = await rejectsWithApiError(assert, jsm.streams.delete("NOPE"), STREAM_NOT_FOUND);
    assert.equal(err.code, ErrorCode.JetStream404NoMessages, "nats.js maps every 404 to code \"404\"");
    assert.equal(err.message, "stream not found");
  });

  it("adds idempotently; a different config or overlapping subjects are refused", T, async () => {
    const first = await jsm.streams.add({ name: "IDEM", subjects: ["idem.*"] });
    const again = await jsm.streams.add({ name: "IDEM", subjects: ["idem.*"] });
    assert.deepEqual(again.config, first.config);
    assert.equal(again.created, first.created);
    await rejectsWithApiError(assert, jsm.streams.add({ name: "IDEM", subjects: ["idem.other"] }), {
      code: 400,
      errCode: 10058,
      description: "stream name already in use with a different configuration",
    });
    await rejectsWithApiError(assert, jsm.streams.add({ name: "IDEM2", subjects: ["idem.x"] }), {
      code: 400,
      errCode: 10065,
      description: "subjects overlap with an existing stream",
    });
  });

  it("publishes JSON through JSONCodec and reads it back with json()", T, async () => {
    const jc = JSONCodec();
    await jsm.streams.add({ name: "JSONS", subjects: ["jsons"] });
    const doc = { id: 7, tags: ["a", "b"], nested: { ok: true }, text: "ünïcödé ✓" };
    const pa = await js.publish("jsons", jc.encode(doc));
    const sm = await jsm.streams.getMessage("JSONS", { seq: pa.seq });
    assert.deepEqual(sm.json(), doc);
  });
});
