// Every example in conf/ loads without warnings and sets what its comments say. The same files
// were checked by hand to start nats-server 2.9.10 (nats-server -c conf/X.conf -p <port>).

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "server/config/flags.h"

using namespace tern;
using namespace tern::server;
using namespace std::chrono_literals;

namespace {

// conf/ is two directories above this file (tests/unit/).
std::string example(const char* name) {
  return (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "conf" / name).string();
}

LoadedOptions load_example(const char* name) {
  std::string path = example(name);
  const char* argv[] = {"tern-server", "-c", path.c_str()};
  Result<LoadedOptions> r = load_options(3, argv);
  INFO(path);
  if (!r.is_ok()) FAIL(r.status().message());
  CHECK(r->warnings.empty());
  CHECK(r->options.config_file == path);
  return std::move(r.value());
}

}  // namespace

TEST_CASE("conf/tern.conf spells out the defaults", "[conf-examples]") {
  Options o = load_example("tern.conf").options;
  Options defaults;
  CHECK(o.host == "0.0.0.0");
  CHECK(o.port == 4222);
  CHECK(o.max_payload == 1024 * 1024);
  CHECK(o.max_control_line == 4096);
  CHECK(o.max_connections == 65536);
  CHECK(o.max_subscriptions == 0);
  CHECK(o.max_pending == 64 * 1024 * 1024);
  CHECK(o.ping_interval == 2min);
  CHECK(o.ping_max == 2);
  CHECK(o.write_deadline == 10s);
  CHECK_FALSE(o.debug);
  CHECK_FALSE(o.trace);
  CHECK(o.log_file.empty());
  CHECK(o.http_port == 0);
  CHECK_FALSE(o.auth_required());
  CHECK_FALSE(o.jetstream.enabled);

  // "Defaults" means the same as not having the file.
  CHECK(o.host == defaults.host);
  CHECK(o.port == defaults.port);
  CHECK(o.max_payload == defaults.max_payload);
  CHECK(o.max_control_line == defaults.max_control_line);
  CHECK(o.max_connections == defaults.max_connections);
  CHECK(o.max_subscriptions == defaults.max_subscriptions);
  CHECK(o.max_pending == defaults.max_pending);
  CHECK(o.ping_interval == defaults.ping_interval);
  CHECK(o.ping_max == defaults.ping_max);
  CHECK(o.write_deadline == defaults.write_deadline);
  CHECK(o.http_port == defaults.http_port);
}

TEST_CASE("conf/auth-token.conf sets a token through a variable", "[conf-examples]") {
  Options o = load_example("auth-token.conf").options;
  CHECK(o.host == "127.0.0.1");
  CHECK(o.port == 4222);
  CHECK(o.token == "s3cr3t-t0ken");
  CHECK(o.auth_timeout == 2s);
  CHECK(o.username.empty());
  CHECK(o.users.empty());
}

TEST_CASE("conf/auth-users.conf has three users with permissions", "[conf-examples]") {
  Options o = load_example("auth-users.conf").options;
  CHECK(o.host == "127.0.0.1");
  CHECK(o.auth_timeout == 2s);
  REQUIRE(o.users.size() == 3);

  const User& admin = o.users[0];
  CHECK(admin.username == "admin");
  CHECK(admin.password == "$2a$11$wwvLCe8RwACd2XssbU16Ne97Y6vFnuwV0SRKEh13f40y0WTEdauZ2");
  CHECK(admin.permissions.publish.allow == std::vector<std::string>{">"});
  CHECK(admin.permissions.subscribe.allow == std::vector<std::string>{">"});

  const User& orders = o.users[1];
  CHECK(orders.username == "orders");
  CHECK(orders.password == "0rders-pw");
  CHECK(orders.permissions.publish.allow == std::vector<std::string>{"orders.>", "_INBOX.>"});
  CHECK(orders.permissions.publish.deny == std::vector<std::string>{"orders.admin.>"});
  CHECK(orders.permissions.subscribe.allow == std::vector<std::string>{"orders.>", "_INBOX.>"});
  CHECK(orders.permissions.subscribe.deny.empty());

  const User& guest = o.users[2];
  CHECK(guest.username == "guest");
  CHECK(guest.password == "guest");
  CHECK(guest.permissions.publish.allow == std::vector<std::string>{"public.>"});
  CHECK(guest.permissions.subscribe.allow == std::vector<std::string>{"public.>", "_INBOX.>"});
}

TEST_CASE("conf/jetstream.conf turns JetStream on with limits", "[conf-examples]") {
  Options o = load_example("jetstream.conf").options;
  CHECK(o.server_name == "tern-js-1");
  CHECK(o.host == "127.0.0.1");
  CHECK(o.jetstream.enabled);
  CHECK(o.jetstream.store_dir == "/tmp/tern/jetstream");
  CHECK(o.jetstream.max_memory_store == int64_t{1} << 30);
  CHECK(o.jetstream.max_file_store == int64_t{10} << 30);
  CHECK(o.jetstream.sync_interval == "always");  // commented out in the file: the default
}

TEST_CASE("every conf/*.conf has a test here", "[conf-examples]") {
  std::vector<std::string> names;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(example("tern.conf")).parent_path())) {
    if (entry.path().extension() == ".conf") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"auth-token.conf", "auth-users.conf", "jetstream.conf", "tern.conf"});
}
