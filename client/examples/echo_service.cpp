// echo_service: a tiny request/reply service on libtern.
//
//   echo_service serve [subject]          answer every request on subject (default "echo")
//   echo_service request <text> [subject] send one request and print the reply
//   echo_service                          both in one process: serve, request once, exit
//
// The server is $NATS_URL, else nats://127.0.0.1:4222. Exit code 0 on success, 1 with one
// line on stderr otherwise.

#include <tern/client.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

namespace {

volatile std::sig_atomic_t g_stop = 0;

int fail(const tern::Status& st) {
  std::cerr << "echo_service: " << st.message() << "\n";
  return 1;
}

// Replies "echo: <request>" to every request, keeping the request's headers.
tern::Result<tern::Subscription> serve(tern::Connection& conn, const std::string& subject) {
  return conn.queue_subscribe(subject, "echo-workers", [&conn](tern::Msg& req) {
    if (req.reply.empty()) return;  // a plain publish, nobody to answer
    tern::Msg reply(req.reply, "echo: " + req.data);
    reply.headers = req.headers;
    if (tern::Status st = conn.publish(reply); !st) std::cerr << "reply failed: " << st.message() << "\n";
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "demo";
  tern::Options opts;
  opts.name = "echo_service";
  opts.error = [](tern::Connection&, const tern::Status& st) { std::cerr << "async error: " << st.message() << "\n"; };
  auto conn = tern::Connection::connect(opts);
  if (!conn) return fail(conn.status());

  if (mode == "serve") {
    std::string subject = argc > 2 ? argv[2] : "echo";
    auto sub = serve(**conn, subject);
    if (!sub) return fail(sub.status());
    std::signal(SIGINT, [](int) { g_stop = 1; });
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::cout << "serving '" << subject << "' on " << (*conn)->server_info().connected_url << "\n";
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return (*conn)->drain(std::chrono::seconds(5)) ? 0 : 1;
  }
  if (mode == "request") {
    if (argc < 3) return fail(tern::Status::error("usage: echo_service request <text> [subject]"));
    auto reply = (*conn)->request(argc > 3 ? argv[3] : "echo", argv[2], std::chrono::seconds(2));
    if (!reply) return fail(reply.status());
    std::cout << reply->data << "\n";
    return 0;
  }
  if (mode != "demo") return fail(tern::Status::error("unknown mode '" + mode + "'"));

  // Both sides in one process.
  std::string subject = (*conn)->new_inbox();  // a private subject for the demo
  auto sub = serve(**conn, subject);
  if (!sub) return fail(sub.status());
  tern::Msg req(subject, "hello from libtern");
  req.headers.add("Demo", "yes");
  auto reply = (*conn)->request(req, std::chrono::seconds(2));
  if (!reply) return fail(reply.status());
  const std::string* demo = reply->headers.get("Demo");
  std::cout << reply->data << " (Demo header: " << (demo ? *demo : "missing") << ")\n";
  // A subject nobody serves: the no-responders error, told apart from a timeout.
  auto none = (*conn)->request("nobody.serves.this", "", std::chrono::seconds(2));
  if (tern::error_code(none.status()) != tern::ErrorCode::NoResponders) return fail(none.status());
  std::cout << "no responders: " << none.status().message() << "\n";
  return (*conn)->drain(std::chrono::seconds(2)) ? 0 : 1;
}
