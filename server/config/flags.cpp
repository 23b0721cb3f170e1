#include "server/config/flags.h"

#include <charconv>
#include <cxxopts.hpp>
#include <string_view>

namespace tern::server {
namespace {

// One row per flag: the name argv is normalised to, its one-letter form, nats-server's other
// spellings, its help, and whether it takes a value. Only short + long go to cxxopts (its help
// shows one long name), so the aliases are listed in the help text.
struct FlagSpec {
  const char* long_name;
  const char* short_name;  // "" for none
  std::vector<std::string_view> aliases;
  const char* help;
  bool takes_value;
  const char* value_name;
};

const std::vector<FlagSpec>& flag_specs() {
  static const std::vector<FlagSpec> kFlags = {
      {"addr", "a", {"net"}, "Network host to listen on (also --net)", true, "HOST"},
      {"port", "p", {}, "Port to listen on (-1: a random port)", true, "PORT"},
      {"name", "n", {"server_name"}, "Server name (also --server_name)", true, "NAME"},
      {"config", "c", {}, "Configuration file", true, "FILE"},
      {"debug", "D", {}, "Enable debug logging", false, ""},
      {"trace", "V", {}, "Enable protocol tracing", false, ""},
      {"DV", "", {}, "Enable debug logging and protocol tracing", false, ""},
      {"log", "l", {}, "File to write the log to", true, "FILE"},
      {"http_port", "m", {}, "HTTP port for the monitoring endpoints", true, "PORT"},
      {"user", "", {}, "User required for connections", true, "USER"},
      {"pass", "", {}, "Password required for connections", true, "PASSWORD"},
      {"auth", "", {}, "Authorization token required for connections", true, "TOKEN"},
      {"jetstream", "", {"js"}, "Enable JetStream (also -js)", false, ""},
      {"store_dir", "", {"sd"}, "JetStream storage directory (also -sd)", true, "DIR"},
      {"help", "h", {}, "Show this message", false, ""},
      {"version", "v", {}, "Show the version", false, ""},
  };
  return kFlags;
}

const FlagSpec* find_flag(std::string_view name) {
  for (const FlagSpec& f : flag_specs()) {
    if (name == f.long_name || name == f.short_name) return &f;
    for (std::string_view alias : f.aliases) {
      if (name == alias) return &f;
    }
  }
  return nullptr;
}

// Go's strconv.ParseBool, which its flag package uses for -flag=value.
std::optional<bool> parse_go_bool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") return false;
  return std::nullopt;
}

// Rewrites argv into "--long" and "--long=value" only, so cxxopts never has to guess whether the
// next argument is a value ("-p -1" is a port of -1, as in Go). Unknown flags are reported here,
// in the spelling the user typed.
Result<std::vector<std::string>> normalize_args(int argc, const char* const* argv) {
  std::vector<std::string> out;
  out.push_back(argc > 0 && argv[0] != nullptr ? argv[0] : "tern-server");
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-' || arg == "--") {
      return Status::error("unexpected argument '" + std::string(arg) + "'");
    }
    size_t dashes = arg[1] == '-' ? 2 : 1;
    std::string_view body = arg.substr(dashes);
    size_t eq = body.find('=');
    std::string_view name = body.substr(0, eq);
    std::string typed = std::string(arg.substr(0, dashes + name.size()));
    if (name.empty() || name[0] == '-' || name[0] == '=') return Status::error("bad flag syntax: " + std::string(arg));
    const FlagSpec* flag = find_flag(name);
    if (flag == nullptr) return Status::error("unknown option '" + typed + "'");

    std::optional<std::string> value;
    if (eq != std::string_view::npos) value = std::string(body.substr(eq + 1));
    if (flag->takes_value) {
      if (!value) {
        if (i + 1 >= argc) return Status::error("flag needs an argument: " + typed);
        value = argv[++i];
      }
      out.push_back(std::string("--") + flag->long_name + "=" + *value);
      continue;
    }
    std::string flag_value = "true";
    if (value) {
      std::optional<bool> b = parse_go_bool(*value);
      if (!b) return Status::error("invalid boolean value \"" + *value + "\" for flag " + typed);
      flag_value = *b ? "true" : "false";
    }
    if (name == "DV") {  // -DV is -D -V
      out.push_back("--debug=" + flag_value);
      out.push_back("--trace=" + flag_value);
    } else {
      out.push_back(std::string("--") + flag->long_name + "=" + flag_value);
    }
  }
  return out;
}

Result<int> parse_port_flag(const std::string& flag, const std::string& value) {
  int port = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return Status::error("invalid value \"" + value + "\" for flag --" + flag + ": expected a port number");
  }
  return port;
}

cxxopts::Options make_parser() {
  cxxopts::Options parser("tern-server",
                          "Tern, a NATS-compatible messaging server.\n"
                          "Every flag may be written -name or --name, as with nats-server.");
  parser.custom_help("[options]");
  auto add = parser.add_options();
  for (const FlagSpec& f : flag_specs()) {
    std::string names = *f.short_name ? std::string(f.short_name) + "," + f.long_name : f.long_name;
    if (f.takes_value) {
      add(names, f.help, cxxopts::value<std::string>(), f.value_name);
    } else {
      add(names, f.help, cxxopts::value<bool>());
    }
  }
  return parser;
}

Result<LoadedOptions> load(int argc, const char* const* argv) {
  Result<std::vector<std::string>> args = normalize_args(argc, argv);
  if (!args.is_ok()) return args.status();
  std::vector<const char*> cargs;
  for (const std::string& a : args.value()) cargs.push_back(a.c_str());

  cxxopts::Options parser = make_parser();
  cxxopts::ParseResult flags = parser.parse(static_cast<int>(cargs.size()), cargs.data());
  auto given = [&](const char* name) { return flags.count(name) > 0; };
  auto text = [&](const char* name) { return flags[name].as<std::string>(); };

  LoadedOptions loaded;
  if (given("help") && flags["help"].as<bool>()) {
    loaded.exit_message = parser.help();
    return loaded;
  }
  if (given("version") && flags["version"].as<bool>()) {
    loaded.exit_message = std::string("tern-server version ") + TERN_VERSION;
    return loaded;
  }

  Options& o = loaded.options;
  if (given("config")) {
    Status s = apply_config_file(text("config"), o, loaded.warnings);
    if (!s.is_ok()) return s;
  }
  // Flags override the file.
  if (given("addr")) o.host = text("addr");
  for (auto [flag, field] : {std::pair{"port", &o.port}, std::pair{"http_port", &o.http_port}}) {
    if (!given(flag)) continue;
    Result<int> port = parse_port_flag(flag, text(flag));
    if (!port.is_ok()) return port.status();
    *field = port.value();
  }
  if (given("name")) o.server_name = text("name");
  if (given("debug")) o.debug = flags["debug"].as<bool>();
  if (given("trace")) o.trace = flags["trace"].as<bool>();
  if (given("log")) o.log_file = text("log");
  if (given("user")) o.username = text("user");
  if (given("pass")) o.password = text("pass");
  if (given("auth")) o.token = text("auth");
  if (given("jetstream")) o.jetstream.enabled = flags["jetstream"].as<bool>();
  if (given("store_dir")) o.jetstream.store_dir = text("store_dir");

  if (Status s = validate(o); !s.is_ok()) return s;
  return loaded;
}

}  // namespace

Result<LoadedOptions> load_options(int argc, const char* const* argv) {
  try {
    return load(argc, argv);
  } catch (const std::exception& e) {  // cxxopts reports through exceptions; callers get a value
    return Status::error(e.what());
  }
}

}  // namespace tern::server
