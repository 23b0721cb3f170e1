// Core NATS through nats.js v2: connect, pub/sub, wildcards, queue groups, request/reply,
// headers, no responders, flush, drain. One server for the file; every case uses its own
// subjects and connections, so the cases do not see each other's traffic.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { collect, connect, Empty, ErrorCode, headers, JSONCodec, serverKind, startServer, StringCodec } from "./harness.mjs";

const T = { timeout: 5000 };
const sc = StringCodec();

describe(`nats.js core against ${serverKind}`, () => {
  let server;
  const conns = [];
  // A connection closed by after() if the case did not close it.
  const open = async (opts = {}) => {
    const nc = await connect({ servers: server.url, timeout: 2000, reconnect: false, ...opts });
    conns.push(nc);
    return nc;
  };

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const nc of conns) if (!nc.isClosed()) await nc.close();
    if (server) await server.stop();
  });

  it("connects and reads the server's INFO", T, async () => {
    const nc = await open({ name: "compat-js" });
    assert.equal(nc.info.headers, true, "INFO headers must be true: nats.js refuses headers otherwise");
    assert.ok(nc.info.max_payload > 0);
    assert.ok(nc.info.proto >= 1);
    assert.equal(typeof nc.info.server_id, "string");
    assert.match(nc.info.version, /^\d+\.\d+\.\d+/);
    assert.equal(nc.getServer(), `127.0.0.1:${server.port}`);
    const rtt = await nc.rtt();
    assert.ok(rtt >= 0);
    await nc.close();
    assert.equal(nc.isClosed(), true);
    assert.equal(await nc.closed(), undefined, "a clean close has no error");
  });

  it("delivers exact payloads: empty, text, every byte value, 64 KiB", T, async () => {
    const nc = await open();
    const payloads = [
      Empty,
      sc.encode("hello"),
      sc.encode("line\r\nbreak and MSG-looking text\r\nPUB x 1\r\n"),
      Uint8Array.from({ length: 256 }, (_, i) => i),
      Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 31 + 7) & 0xff),
    ];
    const sub = nc.subscribe("core.payloads");
    const got = collect(sub, payloads.length);
    for (const p of payloads) nc.publish("core.payloads", p);
    const msgs = await got;
    assert.deepEqual(
      msgs.map((m) => Buffer.from(m.data)),
      payloads.map((p) => Buffer.from(p)),
    );
    for (const m of msgs) {
      assert.equal(m.subject, "core.payloads");
      assert.equal(m.reply, "");
      assert.equal(m.headers, undefined);
    }
  });

  it("delivers between two connections, in publish order", T, async () => {
    const a = await open();
    const b = await open();
    const sub = b.subscribe("core.order");
    await b.flush(); // the SUB is at the server before a publishes
    const got = collect(sub, 100);
    for (let i = 0; i < 100; i++) a.publish("core.order", sc.encode(String(i)));
    await a.flush();
    const msgs = await got;
    assert.deepEqual(
      msgs.map((m) => sc.decode(m.data)),
      Array.from({ length: 100 }, (_, i) => String(i)),
    );
  });

  it("matches wildcards: * is one token, > is one or more", T, async () => {
    const nc = await open();
    const star = nc.subscribe("wc.*");
    const tail = nc.subscribe("wc.>");
    const mid = nc.subscribe("wc.*.end");
    const pubs = ["wc", "wc.a", "wc.a.b", "wc.x.end", "wcx.a"];
    for (const s of pubs) nc.publish(s, sc.encode(s));
    nc.publish("wc.done.end"); // the last message every subscription but star sees
    nc.publish("wc.done");
    await nc.flush();
    const subjects = async (sub, n) => (await collect(sub, n)).map((m) => m.subject);
    assert.deepEqual(await subjects(star, 2), ["wc.a", "wc.done"]);
    assert.deepEqual(await subjects(tail, 5), ["wc.a", "wc.a.b", "wc.x.end", "wc.done.end", "wc.done"]);
    assert.deepEqual(await subjects(mid, 2), ["wc.x.end", "wc.done.end"]);
  });

  it("gives each message to one member of a queue group, and to every plain subscriber", T, async () => {
    const pub = await open();
    const nc = await open();
    const counts = { q1: 0, q2: 0, plain: 0 };
    const q1 = nc.subscribe("core.queue", { queue: "workers", callback: () => counts.q1++ });
    const q2 = nc.subscribe("core.queue", { queue: "workers", callback: () => counts.q2++ });
    nc.subscribe("core.queue", { callback: () => counts.plain++ });
    await nc.flush();
    for (let i = 0; i < 50; i++) pub.publish("core.queue", sc.encode(String(i)));
    await pub.flush();
    await nc.flush();
    // Everything published before pub's flush has been forwarded before nc's PONG.
    assert.equal(counts.q1 + counts.q2, 50, `queue members got ${counts.q1} + ${counts.q2}`);
    assert.equal(counts.plain, 50);
    assert.equal(q1.getProcessed() + q2.getProcessed(), 50);
  });

  it("unsubscribes after max messages", T, async () => {
    const nc = await open();
    const sub = nc.subscribe("core.max", { max: 3 });
    for (let i = 0; i < 5; i++) nc.publish("core.max", sc.encode(String(i)));
    const got = [];
    for await (const m of sub) got.push(sc.decode(m.data)); // ends when max is reached
    assert.deepEqual(got, ["0", "1", "2"]);
    assert.equal(sub.isClosed(), true);
  });

  it("does request/reply, muxed and not, across connections", T, async () => {
    const svc = await open();
    const jc = JSONCodec();
    svc.subscribe("svc.echo", {
      callback: (err, m) => {
        assert.equal(err, null);
        m.respond(jc.encode({ got: jc.decode(m.data), reply: m.reply }));
      },
    });
    await svc.flush();
    const nc = await open();
    const r1 = await nc.request("svc.echo", jc.encode({ n: 1 }), { timeout: 2000 });
    const b1 = jc.decode(r1.data);
    assert.deepEqual(b1.got, { n: 1 });
    assert.match(b1.reply, /^_INBOX\.[A-Za-z0-9]+\.[A-Za-z0-9]+$/, "muxed requests reply to _INBOX.<nuid>.<token>");
    const r2 = await nc.request("svc.echo", jc.encode({ n: 2 }), { timeout: 2000, noMux: true });
    const b2 = jc.decode(r2.data);
    assert.deepEqual(b2.got, { n: 2 });
    assert.match(b2.reply, /^_INBOX\.[A-Za-z0-9]+$/, "noMux requests reply to a fresh _INBOX.<nuid>");
    // Many requests in flight at once each get their own answer.
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, i) => nc.request("svc.echo", jc.encode({ n: i }), { timeout: 2000 })),
    );
    assert.deepEqual(
      many.map((m) => jc.decode(m.data).got.n),
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it("carries headers: multi-valued keys, exact case, with and without payload", T, async () => {
    const nc = await open();
    const sub = nc.subscribe("core.hdrs");
    const h = headers();
    h.set("X-Trace", "abc-123");
    h.append("X-Multi", "one");
    h.append("X-Multi", "two");
    h.set("lower-case-key", "value with spaces");
    nc.publish("core.hdrs", sc.encode("body"), { headers: h });
    const h2 = headers();
    h2.set("Only", "headers");
    nc.publish("core.hdrs", Empty, { headers: h2 });
    const [m1, m2] = await collect(sub, 2);
    assert.equal(sc.decode(m1.data), "body");
    assert.ok(m1.headers, "HMSG must arrive with headers");
    assert.equal(m1.headers.get("X-Trace"), "abc-123");
    assert.deepEqual(m1.headers.values("X-Multi"), ["one", "two"]);
    assert.equal(m1.headers.get("lower-case-key"), "value with spaces");
    assert.deepEqual(m1.headers.keys().sort(), ["X-Multi", "X-Trace", "lower-case-key"]);
    assert.equal(m1.headers.hasError, false);
    assert.equal(m2.data.length, 0);
    assert.equal(m2.headers.get("Only"), "headers");
  });

  it("accepts HPUB with an empty header block (js.publish sends one when it has no headers)", T, async () => {
    const nc = await open();
    const sub = nc.subscribe("core.emptyhdrs");
    nc.publish("core.emptyhdrs", sc.encode("x"), { headers: headers() });
    const [m] = await collect(sub, 1);
    assert.equal(sc.decode(m.data), "x");
    assert.equal(m.headers?.keys().length ?? 0, 0);
  });

  it("carries headers on requests and replies", T, async () => {
    const nc = await open();
    nc.subscribe("svc.hdrs", {
      callback: (_, m) => {
        const h = headers();
        h.set("X-Echo", m.headers?.get("X-Ask") ?? "missing");
        m.respond(sc.encode("ok"), { headers: h });
      },
    });
    const h = headers();
    h.set("X-Ask", "question");
    const r = await nc.request("svc.hdrs", Empty, { timeout: 2000, headers: h });
    assert.equal(sc.decode(r.data), "ok");
    assert.equal(r.headers.get("X-Echo"), "question");
  });

  it("fails a request with no responders fast, with ErrorCode.NoResponders", T, async () => {
    const nc = await open();
    for (const noMux of [false, true]) {
      const start = Date.now();
      await assert.rejects(nc.request("nobody.home", Empty, { timeout: 3000, noMux }), (err) => {
        assert.equal(err.code, ErrorCode.NoResponders);
        assert.equal(err.code, "503");
        return true;
      });
      assert.ok(Date.now() - start < 1500, `no-responders took ${Date.now() - start} ms: it must not wait for the timeout`);
    }
    // A request to a subscriber that never answers times out instead.
    nc.subscribe("silent.svc");
    await assert.rejects(nc.request("silent.svc", Empty, { timeout: 200 }), (err) => {
      assert.equal(err.code, ErrorCode.Timeout);
      return true;
    });
  });

  it("flushes: after flush the server has every earlier SUB and PUB", T, async () => {
    const a = await open();
    const b = await open();
    let n = 0;
    b.subscribe("core.flush", { callback: () => n++ });
    await b.flush();
    for (let i = 0; i < 1000; i++) a.publish("core.flush", sc.encode(String(i)));
    await a.flush();
    await b.flush();
    assert.equal(n, 1000);
    assert.equal(a.stats().outMsgs, 1000);
    assert.equal(b.stats().inMsgs, 1000);
  });

  it("drains a subscription: pending messages are handled, then it closes", T, async () => {
    const pub = await open();
    const nc = await open();
    const seen = [];
    const sub = nc.subscribe("core.drain.sub", {
      callback: (_, m) => seen.push(sc.decode(m.data)),
    });
    await nc.flush();
    for (let i = 0; i < 50; i++) pub.publish("core.drain.sub", sc.encode(String(i)));
    await pub.flush();
    await sub.drain();
    assert.equal(sub.isClosed(), true);
    assert.equal(seen.length, 50);
    pub.publish("core.drain.sub", sc.encode("late"));
    await pub.flush();
    await nc.flush();
    assert.equal(seen.length, 50, "no message after the drain");
  });

  it("drains a connection: subscriptions finish, then it closes cleanly", T, async () => {
    const pub = await open();
    const nc = await open();
    let n = 0;
    nc.subscribe("core.drain.conn", { callback: () => n++ });
    nc.subscribe("core.drain.conn2", { callback: () => n++ });
    await nc.flush();
    for (let i = 0; i < 20; i++) {
      pub.publish("core.drain.conn", Empty);
      pub.publish("core.drain.conn2", Empty);
    }
    await pub.flush();
    await nc.drain();
    assert.equal(n, 40);
    assert.equal(nc.isClosed(), true);
    assert.equal(await nc.closed(), undefined);
    assert.throws(() => nc.publish("core.drain.conn", Empty), (err) => err.code === ErrorCode.ConnectionClosed);
  });
});
