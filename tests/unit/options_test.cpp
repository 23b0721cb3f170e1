// Config keys → Options, validate(), and the command line (flags.h), against nats-server 2.9.10.

#include "server/config/options.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <initializer_list>

#include "server/config/flags.h"

using namespace tern;
using namespace tern::server;
using namespace std::chrono_literals;

namespace {

struct Loaded {
  Status status;
  Options options;
  std::vector<std::string> warnings;
};

Loaded load_text(std::string_view text) {
  Loaded l;
  l.status = apply_config_text(text, "t.conf", l.options, l.warnings);
  return l;
}

Options load_ok(std::string_view text) {
  Loaded l = load_text(text);
  INFO(text);
  if (!l.status.is_ok()) FAIL(l.status.message());
  return l.options;
}

std::string load_error(std::string_view text) {
  Loaded l = load_text(text);
  INFO(text);
  REQUIRE_FALSE(l.status.is_ok());
  return l.status.message();
}

// A scratch directory for config files, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("tern_options_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, std::string_view text) const {
    std::string p = (path_ / name).string();
    std::ofstream(p) << text;
    return p;
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

Result<LoadedOptions> run_flags(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"tern-server"};
  argv.insert(argv.end(), args.begin(), args.end());
  return load_options(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("options: defaults are nats-server's and valid", "[options]") {
  Options o;
  CHECK(o.host == "0.0.0.0");
  CHECK(o.port == 4222);
  CHECK(o.max_payload == 1024 * 1024);
  CHECK(o.ping_interval == 2min);
  CHECK(validate(o).is_ok());
}

TEST_CASE("options: listen in its three forms", "[options]") {
  Options a = load_ok("listen: 127.0.0.1:4333\n");
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 4333);
  Options b = load_ok("listen: \":4334\"\n");
  CHECK(b.host == "0.0.0.0");
  CHECK(b.port == 4334);
  Options c = load_ok("listen: 4335\n");
  CHECK(c.port == 4335);
  Options d = load_ok("listen: \"[::1]:4336\"\n");
  CHECK(d.host == "::1");
  CHECK(d.port == 4336);
  CHECK(load_error("\nlisten: \"127.0.0.1:abc\"\n") ==
        "t.conf:2: listen: expected a port or host:port, got \"127.0.0.1:abc\"");
  CHECK(load_error("listen: 127.0.0.1:70000\n") == "t.conf:1: listen: must be between -1 and 65535, got 70000");
}

TEST_CASE("options: host, net, port, server_name", "[options]") {
  Options o = load_ok("host: 10.0.0.1\nport: 5222\nserver_name: n1\n");
  CHECK(o.host == "10.0.0.1");
  CHECK(o.port == 5222);
  CHECK(o.server_name == "n1");
  CHECK(load_ok("net: 10.0.0.2\n").host == "10.0.0.2");
  CHECK(load_ok("port: -1\n").port == -1);      // a random port, as in nats-server
  CHECK(load_ok("PORT: 6222\n").port == 6222);  // keys are case-insensitive
  CHECK(load_error("port: \"abc\"\n") == "t.conf:1: port: expected a port number, got \"abc\"");
  CHECK(load_error("port: [1]\n") == "t.conf:1: port: expected a port number, got an array");
}

TEST_CASE("options: limits take sizes", "[options]") {
  Options o = load_ok(
      "max_payload: 2MB\n"
      "max_control_line: 8KB\n"
      "max_connections: 100\n"
      "max_subscriptions: 50\n"
      "max_pending: 128MB\n"
      "ping_max: 5\n");
  CHECK(o.max_payload == 2 * 1024 * 1024);
  CHECK(o.max_control_line == 8192);
  CHECK(o.max_connections == 100);
  CHECK(o.max_subscriptions == 50);
  CHECK(o.max_pending == 128 * 1024 * 1024);
  CHECK(o.ping_max == 5);
  CHECK(load_ok("max_payload: \"512KB\"\n").max_payload == 512 * 1024);  // quoted means the same
  CHECK(load_ok("max_payload: 0\n").max_payload == 1024 * 1024);         // 0 = default, as nats-server
  CHECK(load_ok("max_conn: 7\nmax_subs: 8\n").max_connections == 7);

  CHECK(load_error("\n\nmax_payload: abc\n") == "t.conf:3: max_payload: expected a size, got \"abc\"");
  CHECK(load_error("max_payload: 3GB\n") == "t.conf:1: max_payload: must be between 1 and 2147483647, got 3221225472");
  CHECK(load_error("max_control_line: -1\n").find("t.conf:1: max_control_line: must be between 1") == 0);
  CHECK(load_error("max_subscriptions: -1\n").find("t.conf:1: max_subscriptions: must be between 0") == 0);
  CHECK(load_error("ping_max: true\n") == "t.conf:1: ping_max: expected a size, got true");
}

TEST_CASE("options: durations, and integers read as seconds with a warning", "[options]") {
  Loaded l = load_text("ping_interval: \"30s\"\nwrite_deadline: \"1.5s\"\n");
  REQUIRE(l.status.is_ok());
  CHECK(l.options.ping_interval == 30s);
  CHECK(l.options.write_deadline == 1500ms);
  CHECK(l.warnings.empty());
  CHECK(load_ok("ping_interval: \"1h2m3s\"\n").ping_interval == 1h + 2min + 3s);
  CHECK(load_ok("ping_interval: 10s\n").ping_interval == 10s);  // unquoted 10s is a string: fine
  CHECK(load_ok("write_deadline: \"250ms\"\n").write_deadline == 250ms);

  Loaded secs = load_text("ping_interval: 20\n");
  REQUIRE(secs.status.is_ok());
  CHECK(secs.options.ping_interval == 20s);
  REQUIRE(secs.warnings.size() == 1);
  CHECK(secs.warnings[0] ==
        "t.conf:1: ping_interval: an integer is read as seconds; prefer a duration such as \"20s\"");

  // The nats trap: unquoted 2m is the integer 2000000, so 2000000 seconds. Said out loud.
  Loaded trap = load_text("ping_interval: 2m\n");
  REQUIRE(trap.status.is_ok());
  CHECK(trap.options.ping_interval == std::chrono::seconds(2000000));
  REQUIRE(trap.warnings.size() == 1);
  CHECK(trap.warnings[0].find("2m is the integer 2000000, read as seconds; quote durations") != std::string::npos);

  CHECK(load_error("ping_interval: \"soon\"\n") ==
        "t.conf:1: ping_interval: expected a duration such as \"2m\" or \"10s\", got \"soon\"");
  CHECK(load_error("write_deadline: \"5\"\n").find("expected a duration") != std::string::npos);  // Go: missing unit
  CHECK(load_error("write_deadline: \"-5s\"\n") == "t.conf:1: write_deadline: must be positive");
}

TEST_CASE("options: logging and monitoring keys", "[options]") {
  Options o = load_ok("debug: true\ntrace: yes\nlogfile: /tmp/tern.log\nhttp_port: 8222\n");
  CHECK(o.debug);
  CHECK(o.trace);
  CHECK(o.log_file == "/tmp/tern.log");
  CHECK(o.http_port == 8222);
  CHECK(load_ok("log_file: a.log\n").log_file == "a.log");
  CHECK(load_ok("monitor_port: 8223\n").http_port == 8223);
  CHECK(load_error("debug: 1\n") == "t.conf:1: debug: expected true or false, got 1");
}

TEST_CASE("options: authorization with a token", "[options]") {
  Options o = load_ok("authorization {\n  token: \"s3cr3t\"\n  timeout: 3\n}\n");
  CHECK(o.token == "s3cr3t");
  CHECK(o.auth_timeout == 3s);
  CHECK(o.auth_required());
  CHECK(load_ok("authorization { token: t, timeout: 0.5 }\n").auth_timeout == 500ms);
  CHECK(load_ok("authorization { token: t, timeout: \"2s\" }\n").auth_timeout == 2s);
}

TEST_CASE("options: authorization with one user", "[options]") {
  Options o = load_ok("authorization {\n  user: alice\n  password: 12345\n}\n");
  CHECK(o.username == "alice");
  CHECK(o.password == "12345");  // an unquoted number is still the password as written
  Options p = load_ok("authorization { username: bob, pass: \"x\" }\n");
  CHECK(p.username == "bob");
  CHECK(p.password == "x");
}

TEST_CASE("options: authorization with users and permissions", "[options]") {
  Options o = load_ok(
      "authorization {\n"
      "  default_permissions { subscribe: \"public.>\" }\n"
      "  users [\n"
      "    { user: alice, password: \"$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG\" }\n"
      "    { user: bob, password: pw, permissions: { publish: \"a.>\", subscribe: [\"b\", \"c.*\"] } }\n"
      "    { user: carol, password: pw, permissions: {\n"
      "        publish: { allow: [\"x.>\"], deny: \"x.secret\" }\n"
      "        subscribe: { deny: [\"y.>\", \"z\"] }\n"
      "    } }\n"
      "    { user: dave, password: pw, permissions: { pub: p, sub: \"q workers\" } }\n"
      "  ]\n"
      "}\n");
  REQUIRE(o.users.size() == 4);
  const User& alice = o.users[0];
  CHECK(alice.username == "alice");
  CHECK(alice.password.rfind("$2a$11$", 0) == 0);
  CHECK(alice.permissions.subscribe.allow == std::vector<std::string>{"public.>"});  // the default
  const User& bob = o.users[1];
  CHECK(bob.permissions.publish.allow == std::vector<std::string>{"a.>"});
  CHECK(bob.permissions.subscribe.allow == std::vector<std::string>{"b", "c.*"});
  const User& carol = o.users[2];
  CHECK(carol.permissions.publish.allow == std::vector<std::string>{"x.>"});
  CHECK(carol.permissions.publish.deny == std::vector<std::string>{"x.secret"});
  CHECK(carol.permissions.subscribe.allow.empty());
  CHECK(carol.permissions.subscribe.deny == std::vector<std::string>{"y.>", "z"});
  const User& dave = o.users[3];
  CHECK(dave.permissions.publish.allow == std::vector<std::string>{"p"});
  CHECK(dave.permissions.subscribe.allow == std::vector<std::string>{"q workers"});
  CHECK(validate(o).is_ok());
}

TEST_CASE("options: authorization mistakes", "[options]") {
  CHECK(load_error("authorization {\n  token: t\n  user: u\n}\n") ==
        "t.conf:1: authorization: cannot have a user/password and a token");
  CHECK(load_error("authorization { user: u, users: [{user: v}] }\n") ==
        "t.conf:1: authorization: cannot have a single user/password and a users array");
  CHECK(load_error("authorization { token: t, users: [{user: v}] }\n") ==
        "t.conf:1: authorization: cannot have a token and a users array");
  CHECK(load_error("authorization {\n users: [\n  {user: a}\n  {user: a}\n ]\n}\n") ==
        "t.conf:1: authorization: duplicate user \"a\"");
  CHECK(load_error("authorization {\n users: [\n  {password: p}\n ]\n}\n") ==
        "t.conf:3: users: this entry has no user");
  CHECK(load_error("authorization {\n users: [\n  a\n ]\n}\n") ==
        "t.conf:3: users: expected a map such as { user: alice, password: s3cret }, got \"a\"");
  CHECK(load_error("authorization {\n users: [{user: a, permissions: {publish: \"a..b\"}}]\n}\n") ==
        "t.conf:2: publish: invalid subject \"a..b\"");
  CHECK(load_error("authorization {\n users: [{user: a, permissions: {subscribe: [1]}}]\n}\n") ==
        "t.conf:2: subscribe: expected a subject or an array of subjects, got 1");
  CHECK(load_error("authorization {\n users: [{nkey: UABC}]\n}\n") ==
        "t.conf:2: nkey: nkey users are not supported by tern yet");
  CHECK(load_error("authorization: 5\n").find("t.conf:1: authorization: expected a map") == 0);
  CHECK(load_error("authorization { token: t, timeout: -1 }\n") ==
        "t.conf:1: timeout: must be a positive number of seconds");
}

TEST_CASE("options: jetstream in all its forms", "[options]") {
  CHECK(load_ok("jetstream: enabled\n").jetstream.enabled);
  CHECK(load_ok("jetstream: true\n").jetstream.enabled);
  CHECK(load_ok("jetstream: enable\n").jetstream.enabled);
  CHECK_FALSE(load_ok("jetstream: disabled\n").jetstream.enabled);
  CHECK_FALSE(load_ok("jetstream: false\n").jetstream.enabled);

  Options o = load_ok(
      "jetstream {\n"
      "  store_dir: /var/lib/tern\n"
      "  max_memory_store: 1GB\n"
      "  max_file_store: \"10G\"\n"
      "  sync_interval: \"2m\"\n"
      "}\n");
  CHECK(o.jetstream.enabled);  // a block turns it on
  CHECK(o.jetstream.store_dir == "/var/lib/tern");
  CHECK(o.jetstream.max_memory_store == int64_t{1} << 30);
  CHECK(o.jetstream.max_file_store == int64_t{10} << 30);  // quoted "10G" is GiB, as nats-server's getStorageSize
  CHECK(o.jetstream.sync_interval == "2m");

  Options off = load_ok("jetstream { enabled: false, store: /x, max_mem: 1M, max_file: 2048 }\n");
  CHECK_FALSE(off.jetstream.enabled);
  CHECK(off.jetstream.store_dir == "/x");
  CHECK(off.jetstream.max_memory_store == 1000000);
  CHECK(off.jetstream.max_file_store == 2048);
  CHECK(load_ok("jetstream { sync_interval: always }\n").jetstream.sync_interval == "always");
  CHECK(load_ok("store_dir: /top\njetstream: enabled\n").jetstream.store_dir == "/top");

  CHECK(load_error("jetstream: maybe\n") ==
        "t.conf:1: jetstream: expected true, false, enabled, disabled or a map, got \"maybe\"");
  CHECK(load_error("jetstream {\n  sync_interval: soon\n}\n") ==
        "t.conf:2: jetstream.sync_interval: expected \"always\" or a positive duration such as \"2m\", got \"soon\"");
  CHECK(load_error("jetstream {\n  max_file_store: lots\n}\n") ==
        "t.conf:2: max_file_store: expected a size such as 1GB, got \"lots\"");
  CHECK(load_error("store_dir: /a\njetstream { store_dir: /b }\n").find("t.conf:2: store_dir: given twice") == 0);
}

TEST_CASE("options: unknown keys are warnings with file and line", "[options]") {
  Loaded l = load_text(
      "port: 4222\n"
      "foo: 1\n"
      "cluster { port: 6222 }\n"
      "authorization {\n  token: t\n  bar: 2\n}\n"
      "jetstream { domain: hub, baz: 3 }\n"
      "VAR: x\n"
      "server_name: $VAR\n");
  REQUIRE(l.status.is_ok());
  REQUIRE(l.warnings.size() == 5);
  CHECK(l.warnings[0] == "t.conf:2: unknown key \"foo\" ignored");
  CHECK(l.warnings[1] == "t.conf:3: \"cluster\" is not supported by tern yet; ignored");
  CHECK(l.warnings[2] == "t.conf:6: unknown key \"bar\" in authorization ignored");
  CHECK(l.warnings[3] == "t.conf:8: \"domain\" in jetstream is not supported by tern yet; ignored");
  CHECK(l.warnings[4] == "t.conf:8: unknown key \"baz\" in jetstream ignored");
  CHECK(l.options.server_name == "x");  // VAR was used as a variable: no warning for it
}

TEST_CASE("options: syntax errors come through with file and line", "[options]") {
  CHECK(load_error("port: 4222\nauthorization {\n  token: 'x\n}\n") == "t.conf:3: quoted string has no closing '");
}

TEST_CASE("options: validate names the offending key", "[options]") {
  Options o;
  o.port = 70000;
  CHECK(validate(o).message() == "port: must be between -1 and 65535, got 70000");
  o = Options{};
  o.max_payload = 8 * 1024 * 1024;
  o.max_pending = 1024 * 1024;
  CHECK(validate(o).message() == "max_payload (8388608) cannot be higher than max_pending (1048576)");
  o = Options{};
  o.server_name = "has space";
  CHECK(validate(o).message() == "server_name: cannot contain spaces");
  o = Options{};
  o.password = "p";
  CHECK(validate(o).message() == "authorization: a password needs a user");
  o = Options{};
  o.ping_interval = Millis(0);
  CHECK(validate(o).message() == "ping_interval: must be positive");
  o = Options{};
  o.jetstream.sync_interval = "sometimes";
  CHECK(validate(o).message().find("jetstream.sync_interval") == 0);
  o = Options{};
  o.jetstream.max_file_store = -2;
  CHECK(validate(o).message().find("jetstream.max_file_store: must be between -1") == 0);
}

// ---- The command line.

TEST_CASE("flags: no arguments give the defaults", "[flags]") {
  Result<LoadedOptions> r = run_flags({});
  REQUIRE(r.is_ok());
  CHECK(r->options.port == 4222);
  CHECK_FALSE(r->exit_message);
}

TEST_CASE("flags: every nats-server spelling", "[flags]") {
  Result<LoadedOptions> r = run_flags({"-a", "127.0.0.1", "-p", "5000", "-n", "srv", "-D", "-V", "-l", "x.log", "-m",
                                       "8222", "--user", "u", "--pass", "p", "-js", "-sd", "/data"});
  REQUIRE(r.is_ok());
  const Options& o = r->options;
  CHECK(o.host == "127.0.0.1");
  CHECK(o.port == 5000);
  CHECK(o.server_name == "srv");
  CHECK(o.debug);
  CHECK(o.trace);
  CHECK(o.log_file == "x.log");
  CHECK(o.http_port == 8222);
  CHECK(o.username == "u");
  CHECK(o.password == "p");
  CHECK(o.jetstream.enabled);
  CHECK(o.jetstream.store_dir == "/data");

  Result<LoadedOptions> longs =
      run_flags({"--addr", "::1", "--port=5001", "-name", "a", "--debug", "--trace", "-log", "y.log", "--http_port",
                 "8223", "-auth", "tok", "--jetstream", "--store_dir=/d"});
  REQUIRE(longs.is_ok());
  CHECK(longs->options.host == "::1");
  CHECK(longs->options.port == 5001);
  CHECK(longs->options.server_name == "a");
  CHECK(longs->options.token == "tok");
  CHECK(longs->options.http_port == 8223);
  CHECK(longs->options.jetstream.store_dir == "/d");

  Result<LoadedOptions> aliases =
      run_flags({"-net", "10.1.1.1", "-port", "4333", "--server_name", "b", "-user", "v", "-pass", "w", "-p=4334"});
  REQUIRE(aliases.is_ok());
  CHECK(aliases->options.host == "10.1.1.1");
  CHECK(aliases->options.port == 4334);  // the last one wins, as with Go's flag package
  CHECK(aliases->options.server_name == "b");
  CHECK(aliases->options.username == "v");
}

TEST_CASE("flags: -DV is -D -V, and -p -1 is a random port", "[flags]") {
  Result<LoadedOptions> r = run_flags({"-DV", "-p", "-1"});
  REQUIRE(r.is_ok());
  CHECK(r->options.debug);
  CHECK(r->options.trace);
  CHECK(r->options.port == -1);
  Result<LoadedOptions> off = run_flags({"-DV=false"});
  REQUIRE(off.is_ok());
  CHECK_FALSE(off->options.debug);
}

TEST_CASE("flags: errors are one line", "[flags]") {
  CHECK(run_flags({"--foo"}).status().message() == "unknown option '--foo'");
  CHECK(run_flags({"-foo=1"}).status().message() == "unknown option '-foo'");
  CHECK(run_flags({"--max_payload", "1"}).status().message() == "unknown option '--max_payload'");
  CHECK(run_flags({"-p"}).status().message() == "flag needs an argument: -p");
  CHECK(run_flags({"-p", "abc"}).status().message() == "invalid value \"abc\" for flag --port: expected a port number");
  CHECK(run_flags({"-p", "70000"}).status().message() == "port: must be between -1 and 65535, got 70000");
  CHECK(run_flags({"-D=maybe"}).status().message() == "invalid boolean value \"maybe\" for flag -D");
  CHECK(run_flags({"stray"}).status().message() == "unexpected argument 'stray'");
  CHECK(run_flags({"--user", "u", "--auth", "t"}).status().message() ==
        "authorization: cannot have a user/password and a token");
  CHECK(run_flags({"-c", "/nonexistent/tern.conf"}).status().message().find("cannot open /nonexistent/tern.conf") == 0);
}

TEST_CASE("flags: --help and --version ask main to print and exit", "[flags]") {
  for (const char* flag : {"-h", "--help", "-help"}) {
    Result<LoadedOptions> r = run_flags({flag});
    REQUIRE(r.is_ok());
    REQUIRE(r->exit_message);
    CHECK(r->exit_message->find("--jetstream") != std::string::npos);
    CHECK(r->exit_message->find("--store_dir") != std::string::npos);
  }
  for (const char* flag : {"-v", "--version", "-version"}) {
    Result<LoadedOptions> r = run_flags({flag});
    REQUIRE(r.is_ok());
    REQUIRE(r->exit_message);
    CHECK(*r->exit_message == std::string("tern-server version ") + TERN_VERSION);
  }
}

TEST_CASE("flags: -c loads the file and flags override it", "[flags]") {
  TempDir dir;
  dir.write("auth.conf", "authorization { token: from_include }\n");
  std::string conf = dir.write("tern.conf",
                               "port: 5555\n"
                               "server_name: from_file\n"
                               "debug: true\n"
                               "include auth.conf\n"
                               "mystery: 1\n");
  Result<LoadedOptions> file_only = run_flags({"-c", conf.c_str()});
  REQUIRE(file_only.is_ok());
  CHECK(file_only->options.port == 5555);
  CHECK(file_only->options.server_name == "from_file");
  CHECK(file_only->options.token == "from_include");
  CHECK(file_only->options.config_file == conf);
  REQUIRE(file_only->warnings.size() == 1);
  CHECK(file_only->warnings[0] == conf + ":5: unknown key \"mystery\" ignored");

  Result<LoadedOptions> r = run_flags({"-p", "6666", "--config", conf.c_str(), "-n", "from_flag", "-D=false"});
  REQUIRE(r.is_ok());
  CHECK(r->options.port == 6666);
  CHECK(r->options.server_name == "from_flag");
  CHECK_FALSE(r->options.debug);
  CHECK(r->options.token == "from_include");

  std::string bad = dir.write("bad.conf", "port: 1\n\nmax_payload: abc\n");
  CHECK(run_flags({"-c", bad.c_str()}).status().message() == bad + ":3: max_payload: expected a size, got \"abc\"");
}
