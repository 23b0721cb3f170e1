// tern req SUBJECT [BODY]: one request, its reply printed.
// tern reply SUBJECT [BODY]: answers requests with BODY, an echo, or a command's output.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/common.h"

namespace tern::cli {

namespace {

std::vector<std::string> header_specs(const cxxopts::ParseResult& options) {
  if (options.count("header") == 0) return {};
  return options["header"].as<std::vector<std::string>>();
}

// The output of `/bin/sh -c command` with `input` on its stdin, and its exit status (or the
// reason it could not run). The request's subject and body are also in the environment as
// NATS_REQUEST_SUBJECT and NATS_REQUEST_BODY, as the nats CLI sets them.
struct CommandOutput {
  std::string out;
  int status = 0;     // as waitpid() reports it
  std::string error;  // non-empty when it could not run
};

CommandOutput run_shell(const std::string& command, const Msg& request) {
  CommandOutput result;
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    result.error = std::strerror(errno);
    return result;
  }
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.error = std::strerror(errno);
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return result;
  }
  // A command that exits without reading its stdin must not kill `tern reply`: from the
  // first command on, writes to a closed pipe fail with EPIPE instead.
  static const bool sigpipe_ignored = (::signal(SIGPIPE, SIG_IGN), true);
  (void)sigpipe_ignored;
  pid_t pid = ::fork();
  if (pid == 0) {
    // The child: default signal handling back (we block SIGINT/SIGTERM and ignore SIGPIPE).
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::setenv("NATS_REQUEST_SUBJECT", request.subject.c_str(), 1);
    ::setenv("NATS_REQUEST_BODY", request.data.c_str(), 1);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (pid < 0) {
    result.error = std::strerror(errno);
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    return result;
  }
  // Feed stdin and drain stdout together, so that neither side can block the other.
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (request.data.empty()) {
    ::close(in_fd);
    in_fd = -1;
  } else {
    ::fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  char buf[65536];
  for (;;) {
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {in_fd, POLLOUT, 0}};
    int n = ::poll(fds, in_fd >= 0 ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t w = ::write(in_fd, request.data.data() + written, request.data.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = request.data.size();  // it stopped reading
      if (written == request.data.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t r = ::read(out_pipe[0], buf, sizeof buf);
      if (r > 0) {
        result.out.append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        break;
      }
    }
  }
  if (in_fd >= 0) ::close(in_fd);
  ::close(out_pipe[0]);
  while (::waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

}  // namespace

int run_request(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Sends a request to SUBJECT and prints the reply: its headers and a blank line,\n"
                       "then the payload (stdout); the round-trip time goes to stderr. Without BODY,\n"
                       "all of stdin is the body. The body is a template, as in 'tern pub'.\n"
                       "Waits --timeout (default 2s) for the reply.\n",
                       "SUBJECT [BODY]", 1, 2);
  // clang-format off
  parser.add_options()
    ("H,header", "Adds a header (repeatable)", cxxopts::value<std::vector<std::string>>(), "KEY:VALUE")
    ("r,raw", "Prints only the reply's payload")
    ("no-templates", "Sends the body as it is, without expanding {{...}}");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& subject = cl.positional[0];
  const bool raw = cl.options.count("raw") != 0;
  TemplateContext ctx{1, nullptr};
  auto headers = parse_headers(header_specs(cl.options), ctx);
  if (!headers) return fail(kExitUsage, parser.name() + ": " + headers.status().message());
  std::string body = cl.positional.size() > 1 ? cl.positional[1] : read_all_stdin();
  if (cl.options.count("no-templates") == 0) body = expand_template(body, ctx);

  auto conn = connect(cl.global);
  if (!conn) return fail(kExitFailure, conn.status().message());
  Msg msg(subject, std::move(body));
  msg.headers = std::move(*headers);
  msg.has_headers = !msg.headers.empty();

  if (!raw) std::fprintf(stderr, "Sending request on \"%s\"\n", subject.c_str());
  auto start = std::chrono::steady_clock::now();
  auto reply = (*conn)->request(msg, cl.global.timeout);
  auto rtt = std::chrono::steady_clock::now() - start;
  if (!reply) {
    switch (error_code(reply.status())) {
      case ErrorCode::NoResponders:
        return fail(kExitFailure, "no responders available for request");
      case ErrorCode::Timeout:
        return fail(kExitFailure,
                    "no reply on \"" + subject + "\" within " + format_duration(cl.global.timeout) + " (timeout)");
      default:
        return fail(kExitFailure, "request on \"" + subject + "\" failed: " + reply.status().message());
    }
  }
  if (raw) {
    print_msg(*reply, 1, MsgFormat::Raw);
  } else {
    std::fprintf(stderr, "Received with rtt %s\n", format_duration(rtt).c_str());
    // A reply that itself carries a reply subject (a pulled JetStream message: its $JS.ACK
    // subject) is only useful if the user can see where to answer it.
    if (!reply->reply.empty())
      std::fprintf(stderr, "Received on \"%s\" with reply \"%s\"\n", reply->subject.c_str(), reply->reply.c_str());
    print_msg_body(*reply, MsgFormat::Pretty);
  }
  return kExitOk;
}

int run_reply(const std::vector<std::string>& args) {
  CommandParser parser(args[0],
                       "Answers every request on SUBJECT, printing each request as 'tern sub' does.\n"
                       "The answer is BODY (a template: {{Count}}, {{Request}} the request's body, ...),\n"
                       "or with --command the stdout of a shell command run per request with the\n"
                       "request's body on its stdin (and in $NATS_REQUEST_BODY, the subject in\n"
                       "$NATS_REQUEST_SUBJECT). Without BODY and --command, requests are echoed back.\n",
                       "SUBJECT [BODY]", 1, 2);
  // clang-format off
  parser.add_options()
    ("queue", "Queue group to answer in", cxxopts::value<std::string>()->default_value("NATS-RPLY-22"), "NAME")
    ("count", "Exits after answering N requests (0: never)", cxxopts::value<uint64_t>()->default_value("0"), "N")
    ("command", "Answers with the output of this shell command", cxxopts::value<std::string>(), "CMD")
    ("echo", "Answers with the request itself (body and headers)")
    ("H,header", "Adds a header to each answer (repeatable)", cxxopts::value<std::vector<std::string>>(),
     "KEY:VALUE")
    ("no-templates", "Sends BODY as it is, without expanding {{...}}");
  // clang-format on
  CommandLine cl;
  if (auto code = parser.parse(args, cl)) return *code;
  const std::string& subject = cl.positional[0];
  const std::string queue = cl.options["queue"].as<std::string>();
  const uint64_t count = cl.options["count"].as<uint64_t>();
  const std::string command = cl.options.count("command") != 0 ? cl.options["command"].as<std::string>() : "";
  const bool has_body = cl.positional.size() > 1;
  const std::string body = has_body ? cl.positional[1] : "";
  const bool templates = cl.options.count("no-templates") == 0;
  const std::vector<std::string> specs = header_specs(cl.options);
  if (auto h = parse_headers(specs, {}); !h) return fail(kExitUsage, parser.name() + ": " + h.status().message());
  if (has_body && !command.empty()) return fail(kExitUsage, parser.name() + ": give BODY or --command, not both");
  const bool echo = cl.options.count("echo") != 0 || (!has_body && command.empty());
  if (echo && (has_body || !command.empty())) {
    return fail(kExitUsage, parser.name() + ": --echo excludes BODY and --command");
  }
  if (echo && cl.options.count("echo") == 0) std::fputs("No body or command given: echoing requests back\n", stderr);

  SignalWaiter signals;
  StopFlag stop;
  Options opts;
  stop.watch(opts);
  auto conn = connect(cl.global, std::move(opts));
  if (!conn) return fail(kExitFailure, conn.status().message());
  Connection& nc = **conn;

  // Runs on the dispatcher thread, one request at a time.
  uint64_t answered = 0;
  MsgHandler handler = [&](Msg& request) {
    if (count != 0 && answered >= count) return;
    const uint64_t n = ++answered;
    print_msg(request, n, MsgFormat::Pretty);
    if (request.reply.empty()) {
      std::fprintf(stderr, "Request #%llu has no reply subject: not answered\n", static_cast<unsigned long long>(n));
    } else {
      TemplateContext ctx{n, &request.data};
      Msg answer;
      answer.subject = request.reply;
      answer.headers = *parse_headers(specs, ctx);
      if (echo) {
        for (const auto& [key, value] : request.headers.fields()) answer.headers.add(key, value);
        answer.data = request.data;
      } else if (!command.empty()) {
        CommandOutput out = run_shell(command, request);
        if (!out.error.empty()) {
          std::fprintf(stderr, "Command \"%s\" could not run: %s\n", command.c_str(), out.error.c_str());
        } else if (!WIFEXITED(out.status) || WEXITSTATUS(out.status) != 0) {
          std::fprintf(stderr, "Command \"%s\" failed (status %d); answering with its output\n", command.c_str(),
                       WIFEXITED(out.status) ? WEXITSTATUS(out.status) : 128 + WTERMSIG(out.status));
        }
        answer.data = std::move(out.out);
      } else {
        answer.data = templates ? expand_template(body, ctx) : body;
      }
      answer.has_headers = !answer.headers.empty();
      if (Status st = nc.publish(answer); !st) {
        std::fprintf(stderr, "Could not answer request #%llu: %s\n", static_cast<unsigned long long>(n),
                     st.message().c_str());
      }
    }
    if (n == count) stop.finish();
  };
  auto sub = listen(nc, subject, queue, count, handler, cl.global.timeout);
  if (!sub) return fail(kExitFailure, sub.status().message());
  std::fprintf(stderr, "Listening on \"%s\" in group \"%s\"\n", subject.c_str(), queue.c_str());
  int code = wait_then_drain(stop, signals, nc, cl.global.timeout);
  conn->reset();
  return code;
}

}  // namespace tern::cli
