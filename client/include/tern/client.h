#pragma once
// libtern, the Tern client library: include this one header.
//
//   auto conn = tern::Connection::connect();            // NATS_URL or nats://127.0.0.1:4222
//   if (!conn) { std::cerr << conn.status().message() << "\n"; return 1; }
//   auto sub = (*conn)->subscribe("greet.*", [](tern::Msg& m) { ... });
//   (*conn)->publish("greet.joe", "hello");
//   auto reply = (*conn)->request("svc.time", "", std::chrono::seconds(1));
//
// Headers: <tern/status.h> (Status, Result), <tern/errors.h> (error codes),
// <tern/msg.h> (Msg, Headers), <tern/options.h> (Options), <tern/connection.h>
// (Connection, Subscription), <tern/jetstream.h> (JetStream: streams, consumers, acked publish, pull). Threading and lifetime rules are in connection.h.

#include "tern/connection.h"
#include "tern/errors.h"
#include "tern/jetstream.h"
#include "tern/msg.h"
#include "tern/options.h"
#include "tern/status.h"
