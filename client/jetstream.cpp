// tern::JetStream: stream and consumer management over the JSON API, and publishing with
// acknowledgements (sync, and async through a bounded window). The request core is in
// jetstream_api.cpp, the JSON mapping in jetstream_json.cpp, pull consumers in jetstream_pull.cpp.
#include <algorithm>
#include <cassert>
#include <charconv>
#include <nlohmann/json.hpp>

#include "client/jetstream_impl.h"
#include "tern/errors.h"

namespace tern {

using detail::dump_json;
using nlohmann::json;

namespace {

// A name that goes into an API subject as one token. nats.go refuses the same characters
// (checkStreamName / checkConsumerName): anything else would change the subject itself.
Status check_name(std::string_view what, std::string_view name) {
  if (name.empty()) return make_error(ErrorCode::InvalidArgument, std::string(what) + " name is required");
  if (name.find_first_of(".*> \t\r\n\f/\\") != std::string_view::npos)
    return make_error(ErrorCode::InvalidArgument, std::string(what) + " name '" + std::string(name) +
                                                      "' can not contain '.', '*', '>', '/', '\\' or whitespace");
  return Status::ok();
}

std::string str(std::string_view s) { return std::string(s); }

// The consumer's name as the create subject carries it (nats.go AddConsumer: name, else durable).
Result<std::string> consumer_name_of(const std::string& name, const std::string& durable) {
  if (!name.empty() && !durable.empty() && name != durable)
    return make_error(ErrorCode::InvalidArgument,
                      "consumer name '" + name + "' and durable name '" + durable + "' differ");
  const std::string& n = name.empty() ? durable : name;
  if (!n.empty())
    if (Status st = check_name("consumer", n); !st) return st;
  return n;
}

// The create subject nats.go 1.22 picks against a 2.9+ server (jetstream-api.md §8.2): the
// legacy ephemeral form without a name, else CREATE.<stream>.<name>[.<filter>].
std::string consumer_create_suffix(std::string_view stream, const std::string& name, const std::string& filter) {
  std::string s = "CONSUMER.CREATE." + str(stream);
  if (name.empty()) return s;
  s += "." + name;
  if (!filter.empty() && filter != ">") s += "." + filter;
  return s;
}

// Pages through a LIST/NAMES answer until `total` items are in: `key` holds each page.
Result<std::vector<json>> paged(detail::JetStreamImpl& js, const std::string& suffix, const std::string& key,
                                std::string_view subject_filter) {
  std::vector<json> items;
  for (;;) {
    json body = {{"offset", items.size()}};
    if (!subject_filter.empty()) body["subject"] = subject_filter;
    auto page = js.api_json(suffix, dump_json(body));
    if (!page) return page.status();
    auto it = page->find(key);
    // 2.9.10 answers "streams":null when there are none.
    if (it == page->end() || !it->is_array() || it->empty()) break;
    for (auto& item : *it) items.push_back(std::move(item));
    auto total = page->find("total");
    if (total == page->end() || !total->is_number_unsigned() || items.size() >= total->get<uint64_t>()) break;
  }
  return items;
}

Status success_or_error(const Result<json>& r, std::string_view what) {
  if (!r) return r.status();
  const json& j = r.value();
  auto it = j.find("success");
  if (it == j.end() || !it->is_boolean() || !it->get<bool>())
    return make_error(ErrorCode::ProtocolError, str(what) + ": the server did not answer success");
  return Status::ok();
}

// The Nats-* publish headers of `opts`, added to a copy of `msg`.
Msg with_publish_headers(const Msg& msg, const PublishOptions& opts) {
  Msg m = msg;
  m.reply.clear();
  if (!opts.msg_id.empty()) m.headers.set("Nats-Msg-Id", opts.msg_id);
  if (!opts.expected_stream.empty()) m.headers.set("Nats-Expected-Stream", opts.expected_stream);
  if (opts.expected_last_seq) m.headers.set("Nats-Expected-Last-Sequence", std::to_string(*opts.expected_last_seq));
  if (opts.expected_last_subject_seq)
    m.headers.set("Nats-Expected-Last-Subject-Sequence", std::to_string(*opts.expected_last_subject_seq));
  if (!opts.expected_last_msg_id.empty()) m.headers.set("Nats-Expected-Last-Msg-Id", opts.expected_last_msg_id);
  return m;
}

Status no_stream_error(std::string_view subject) {
  return make_error(ErrorCode::NoResponders, "no stream captures subject '" + str(subject) + "'");
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Async publish window

namespace detail {

AsyncAcks::~AsyncAcks() {
  // close() joined (or detached) the timer thread; a joinable one here would terminate().
  assert(!timer_.joinable());
}

Status AsyncAcks::start_locked() {
  if (started_) return Status::ok();
  prefix_ = conn_.new_inbox() + ".";
  std::weak_ptr<AsyncAcks> weak = weak_from_this();
  auto sub = conn_.subscribe(prefix_ + "*", [weak](Msg& m) {
    if (auto self = weak.lock()) self->on_ack(m);
  });
  if (!sub) return sub.status();
  sub_ = std::move(*sub);
  // The thread keeps the object alive until close() stops it.
  timer_ = std::thread([self = shared_from_this()] { self->timer_loop(); });
  started_ = true;
  return Status::ok();
}

Status AsyncAcks::publish(Msg msg, std::chrono::milliseconds timeout,
                          std::shared_ptr<std::promise<Result<PubAck>>> promise, PubAckHandler handler) {
  std::unique_lock lock(mu_);
  if (closed_) return make_error(ErrorCode::Closed, "the JetStream context is closed");
  if (Status st = start_locked(); !st) return st;
  if (!cv_.wait_for(lock, timeout, [&] { return closed_ || pending_.size() < window_; })) {
    return make_error(ErrorCode::Timeout, "async publish window full (" + std::to_string(window_) +
                                              " acks outstanding) for " + std::to_string(timeout.count()) + " ms");
  }
  if (closed_) return make_error(ErrorCode::Closed, "the JetStream context is closed");

  uint64_t token = ++next_token_;
  msg.reply = prefix_ + std::to_string(token);
  // Sent under mu_ so that its entry exists before any ack can arrive and a failed send can be
  // taken back; Connection::publish only queues and runs no user code, so this cannot deadlock.
  if (Status st = conn_.publish(msg); !st) return st;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool earliest = deadlines_.empty() || deadline < deadlines_.begin()->first;
  pending_.emplace(token, Pending{std::move(promise), std::move(handler), std::move(msg), deadline});
  deadlines_.emplace(deadline, token);
  lock.unlock();
  if (earliest) cv_.notify_all();
  return Status::ok();
}

bool AsyncAcks::take_locked(uint64_t token, Pending& out) {
  auto it = pending_.find(token);
  if (it == pending_.end()) return false;
  out = std::move(it->second);
  deadlines_.erase({out.deadline, token});
  pending_.erase(it);
  return true;
}

void AsyncAcks::begin_completing_locked(size_t n) {
  if (n == 0) return;
  completing_ += n;
  completing_on_.insert(std::this_thread::get_id());
}

void AsyncAcks::finish(std::vector<std::pair<Pending, Result<PubAck>>>& done) {
  if (done.empty()) return;
  const size_t n = done.size();
  for (auto& [p, r] : done) {
    if (p.promise) p.promise->set_value(std::move(r));
    if (p.handler) p.handler(p.msg, r);
  }
  done.clear();  // the handlers' captures too, before close() may return
  {
    std::lock_guard lock(mu_);
    completing_ -= n;
    completing_on_.erase(completing_on_.find(std::this_thread::get_id()));
  }
  cv_.notify_all();
}

void AsyncAcks::on_ack(Msg& reply) {
  std::vector<std::pair<Pending, Result<PubAck>>> done;
  {
    std::lock_guard lock(mu_);
    if (!reply.subject.starts_with(prefix_)) return;
    std::string_view tail = std::string_view(reply.subject).substr(prefix_.size());
    uint64_t token = 0;
    auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), token);
    if (ec != std::errc() || end != tail.data() + tail.size()) return;
    Pending p;
    if (!take_locked(token, p)) return;  // timed out (or closed) already: a late ack is dropped
    Result<PubAck> r = reply.is_status() && reply.headers.status() == 503
                           ? Result<PubAck>(no_stream_error(p.msg.subject))
                           : detail::pub_ack_from_json(reply.data);
    done.emplace_back(std::move(p), std::move(r));
    begin_completing_locked(1);
  }
  cv_.notify_all();  // a slot is free
  finish(done);
}

void AsyncAcks::timer_loop() {
  std::unique_lock lock(mu_);
  while (!closed_) {
    if (deadlines_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto now = std::chrono::steady_clock::now();
    if (now < deadlines_.begin()->first) {
      auto next = deadlines_.begin()->first;  // a copy: the entry may go while we wait
      cv_.wait_until(lock, next);
      continue;
    }
    std::vector<std::pair<Pending, Result<PubAck>>> done;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      Pending p;
      take_locked(deadlines_.begin()->second, p);
      Status timeout = make_error(ErrorCode::Timeout, "no publish ack for '" + p.msg.subject + "' within the timeout");
      done.emplace_back(std::move(p), std::move(timeout));
    }
    begin_completing_locked(done.size());
    lock.unlock();
    cv_.notify_all();
    finish(done);
    lock.lock();
  }
}

Status AsyncAcks::wait_all(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (cv_.wait_for(lock, timeout, [&] { return pending_.empty() && completing_ == 0; })) return Status::ok();
  return make_error(ErrorCode::Timeout, std::to_string(pending_.size()) + " async publishes still await their ack");
}

size_t AsyncAcks::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

void AsyncAcks::close() {
  std::vector<std::pair<Pending, Result<PubAck>>> done;
  Subscription sub;
  std::thread timer;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    for (auto& [token, p] : pending_)
      done.emplace_back(std::move(p), make_error(ErrorCode::Closed, "the JetStream context was destroyed"));
    pending_.clear();
    deadlines_.clear();
    begin_completing_locked(done.size());
    sub = std::move(sub_);
    timer = std::move(timer_);
  }
  cv_.notify_all();
  (void)sub.unsubscribe();
  // Ours first: a completion elsewhere may be waiting for every completion (wait_all).
  finish(done);
  if (timer.joinable()) {
    // Destroyed from a completion the timer thread runs: it exits by itself once that returns.
    if (timer.get_id() == std::this_thread::get_id()) {
      timer.detach();
    } else {
      timer.join();
    }
  }
  // An ack handler already running on the message thread may use the JetStream it belongs to
  // (publish_async from an ack handler) or what it captured: the JetStream must outlive it.
  // Not the completions of this very thread (the JetStream destroyed from its own handler).
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return completing_on_.size() == completing_on_.count(std::this_thread::get_id()); });
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// JetStream

JetStream::JetStream(Connection& conn, JetStreamOptions opts)
    : impl_(std::make_shared<detail::JetStreamImpl>(conn, std::move(opts))) {
  impl_->async_acks = std::make_shared<detail::AsyncAcks>(conn, impl_->opts().max_pending_acks);
}

JetStream::~JetStream() {
  // PullConsumers may keep impl_ alive; the async window ends with this object.
  impl_->async_acks->close();
}

Connection& JetStream::connection() { return impl_->conn(); }
const JetStreamOptions& JetStream::options() const { return impl_->opts(); }

Result<std::string> JetStream::api_request(std::string_view subject_suffix, std::string_view body) {
  return impl_->api_request(subject_suffix, body);
}

Result<AccountInfo> JetStream::account_info() {
  auto r = impl_->api_request("INFO", "");
  if (!r) return r.status();
  json j = json::parse(*r, nullptr, false);  // before *r is moved from
  return detail::account_info_from_json(j, std::move(*r));
}

// --- Streams

namespace {

// One request whose answer is a StreamInfo; `json` keeps the server's own text.
Result<StreamInfo> stream_info_request(detail::JetStreamImpl& js, const std::string& suffix, std::string_view body) {
  auto r = js.api_request(suffix, body);
  if (!r) return r.status();
  json j = json::parse(*r, nullptr, false);  // before *r is moved from
  return detail::stream_info_from_json(j, std::move(*r));
}

Result<ConsumerInfo> consumer_info_request(detail::JetStreamImpl& js, const std::string& suffix,
                                           std::string_view body) {
  auto r = js.api_request(suffix, body);
  if (!r) return r.status();
  json j = json::parse(*r, nullptr, false);  // before *r is moved from
  return detail::consumer_info_from_json(j, std::move(*r));
}

// The "name" of a JSON stream config text, checked.
Result<std::string> stream_name_of_json(std::string_view config_json) {
  json j = json::parse(config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::InvalidArgument, "the stream config is not a JSON object");
  auto it = j.find("name");
  if (it == j.end() || !it->is_string())
    return make_error(ErrorCode::InvalidArgument, "the stream config has no \"name\"");
  std::string name = it->get<std::string>();
  if (Status st = check_name("stream", name); !st) return st;
  return name;
}

}  // namespace

Result<StreamInfo> JetStream::add_stream(const StreamConfig& cfg) {
  if (Status st = check_name("stream", cfg.name); !st) return st;
  return stream_info_request(*impl_, "STREAM.CREATE." + cfg.name, dump_json(detail::to_json(cfg)));
}

Result<StreamInfo> JetStream::update_stream(const StreamConfig& cfg) {
  if (Status st = check_name("stream", cfg.name); !st) return st;
  return stream_info_request(*impl_, "STREAM.UPDATE." + cfg.name, dump_json(detail::to_json(cfg)));
}

Result<StreamInfo> JetStream::add_stream_json(std::string_view config_json) {
  auto name = stream_name_of_json(config_json);
  if (!name) return name.status();
  return stream_info_request(*impl_, "STREAM.CREATE." + *name, config_json);
}

Result<StreamInfo> JetStream::update_stream_json(std::string_view config_json) {
  auto name = stream_name_of_json(config_json);
  if (!name) return name.status();
  return stream_info_request(*impl_, "STREAM.UPDATE." + *name, config_json);
}

Result<StreamInfo> JetStream::stream_info(std::string_view stream) {
  if (Status st = check_name("stream", stream); !st) return st;
  return stream_info_request(*impl_, "STREAM.INFO." + str(stream), "");
}

Status JetStream::delete_stream(std::string_view stream) {
  if (Status st = check_name("stream", stream); !st) return st;
  return success_or_error(impl_->api_json("STREAM.DELETE." + str(stream), ""), "stream delete");
}

Result<uint64_t> JetStream::purge_stream(std::string_view stream, const PurgeOptions& opts) {
  if (Status st = check_name("stream", stream); !st) return st;
  json body = json::object();
  if (!opts.filter.empty()) body["filter"] = opts.filter;
  if (opts.seq > 0) body["seq"] = opts.seq;
  if (opts.keep > 0) body["keep"] = opts.keep;
  auto r = impl_->api_json("STREAM.PURGE." + str(stream), body.empty() ? std::string() : dump_json(body));
  if (Status st = success_or_error(r, "stream purge"); !st) return st;
  auto purged = r->find("purged");
  return purged != r->end() && purged->is_number_unsigned() ? purged->get<uint64_t>() : uint64_t{0};
}

Result<std::vector<StreamInfo>> JetStream::list_streams(std::string_view subject_filter) {
  auto items = paged(*impl_, "STREAM.LIST", "streams", subject_filter);
  if (!items) return items.status();
  std::vector<StreamInfo> out;
  for (const auto& item : *items) {
    auto info = detail::stream_info_from_json(item, dump_json(item));
    if (!info) return info.status();
    out.push_back(std::move(*info));
  }
  return out;
}

Result<std::vector<std::string>> JetStream::stream_names(std::string_view subject_filter) {
  auto items = paged(*impl_, "STREAM.NAMES", "streams", subject_filter);
  if (!items) return items.status();
  std::vector<std::string> out;
  for (const auto& item : *items)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

Result<StoredMsg> JetStream::get_msg(std::string_view stream, uint64_t seq, std::string_view last_by_subject) {
  if (Status st = check_name("stream", stream); !st) return st;
  json body = json::object();
  if (seq > 0) {
    body["seq"] = seq;
  } else if (!last_by_subject.empty()) {
    body["last_by_subj"] = last_by_subject;
  } else {
    return make_error(ErrorCode::InvalidArgument, "get_msg needs a sequence or a subject");
  }
  auto r = impl_->api_json("STREAM.MSG.GET." + str(stream), dump_json(body));
  if (!r) return r.status();
  return detail::stored_msg_from_json(*r);
}

Status JetStream::delete_msg(std::string_view stream, uint64_t seq, bool erase) {
  if (Status st = check_name("stream", stream); !st) return st;
  json body = {{"seq", seq}, {"no_erase", !erase}};
  return success_or_error(impl_->api_json("STREAM.MSG.DELETE." + str(stream), dump_json(body)), "message delete");
}

// --- Consumers

Result<ConsumerInfo> JetStream::add_consumer(std::string_view stream, const ConsumerConfig& cfg) {
  if (Status st = check_name("stream", stream); !st) return st;
  auto name = consumer_name_of(cfg.name, cfg.durable_name);
  if (!name) return name.status();
  json body = {{"stream_name", stream}, {"config", detail::to_json(cfg)}};
  return consumer_info_request(*impl_, consumer_create_suffix(stream, *name, cfg.filter_subject), dump_json(body));
}

Result<ConsumerInfo> JetStream::update_consumer(std::string_view stream, const ConsumerConfig& cfg) {
  if (Status st = check_name("stream", stream); !st) return st;
  auto name = consumer_name_of(cfg.name, cfg.durable_name);
  if (!name) return name.status();
  if (name->empty())
    return make_error(ErrorCode::InvalidArgument, "updating a consumer needs its name or durable name");
  // A 2.9 create on an existing name is the update; check it exists, or it would be created.
  if (auto info = consumer_info(stream, *name); !info) return info.status();
  return add_consumer(stream, cfg);
}

Result<ConsumerInfo> JetStream::add_consumer_json(std::string_view stream, std::string_view config_json) {
  if (Status st = check_name("stream", stream); !st) return st;
  json cfg = json::parse(config_json, nullptr, false);
  if (cfg.is_discarded() || !cfg.is_object())
    return make_error(ErrorCode::InvalidArgument, "the consumer config is not a JSON object");
  auto text_of = [&](const char* key) {
    auto it = cfg.find(key);
    return it != cfg.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto name = consumer_name_of(text_of("name"), text_of("durable_name"));
  if (!name) return name.status();
  std::string suffix = consumer_create_suffix(stream, *name, text_of("filter_subject"));
  json body = {{"stream_name", stream}, {"config", std::move(cfg)}};
  return consumer_info_request(*impl_, suffix, dump_json(body));
}

Result<ConsumerInfo> JetStream::consumer_info(std::string_view stream, std::string_view consumer) {
  if (Status st = check_name("stream", stream); !st) return st;
  if (Status st = check_name("consumer", consumer); !st) return st;
  return consumer_info_request(*impl_, "CONSUMER.INFO." + str(stream) + "." + str(consumer), "");
}

Status JetStream::delete_consumer(std::string_view stream, std::string_view consumer) {
  if (Status st = check_name("stream", stream); !st) return st;
  if (Status st = check_name("consumer", consumer); !st) return st;
  return success_or_error(impl_->api_json("CONSUMER.DELETE." + str(stream) + "." + str(consumer), ""),
                          "consumer delete");
}

Result<std::vector<ConsumerInfo>> JetStream::list_consumers(std::string_view stream) {
  if (Status st = check_name("stream", stream); !st) return st;
  auto items = paged(*impl_, "CONSUMER.LIST." + str(stream), "consumers", {});
  if (!items) return items.status();
  std::vector<ConsumerInfo> out;
  for (const auto& item : *items) {
    auto info = detail::consumer_info_from_json(item, dump_json(item));
    if (!info) return info.status();
    out.push_back(std::move(*info));
  }
  return out;
}

Result<std::vector<std::string>> JetStream::consumer_names(std::string_view stream) {
  if (Status st = check_name("stream", stream); !st) return st;
  auto items = paged(*impl_, "CONSUMER.NAMES." + str(stream), "consumers", {});
  if (!items) return items.status();
  std::vector<std::string> out;
  for (const auto& item : *items)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

Result<PullConsumer> JetStream::pull_consumer(std::string_view stream, std::string_view consumer) {
  auto info = consumer_info(stream, consumer);
  if (!info) return info.status();
  // Filled member by member: PullState's other members (jetstream_pull.cpp's) need not be movable.
  auto state = std::make_shared<detail::PullState>();
  state->js = impl_;
  state->stream = str(stream);
  state->consumer = str(consumer);
  return PullConsumer(std::move(state));
}

Result<uint64_t> JetStream::dlq_redrive(std::string_view dlq_stream, const RedriveOptions& opts) {
  if (Status st = check_name("stream", dlq_stream); !st) return st;
  json body = json::object();
  if (opts.seq > 0) body["seq"] = opts.seq;
  if (opts.max > 0) body["max"] = opts.max;
  if (!opts.filter.empty()) body["filter"] = opts.filter;
  auto r = impl_->api_json("TERN.DLQ.REDRIVE." + str(dlq_stream), dump_json(body));
  if (!r) {
    // Only Tern answers this subject.
    if (error_code(r.status()) == ErrorCode::NoResponders)
      return make_error(ErrorCode::Unsupported, "dead-letter redrive needs tern-server (nobody answered " +
                                                    impl_->api_subject("TERN.DLQ.REDRIVE." + str(dlq_stream)) + ")");
    return r.status();
  }
  auto n = r->find("redriven");
  if (n == r->end() || !n->is_number_unsigned())
    return make_error(ErrorCode::ProtocolError, "the redrive answer has no \"redriven\" count");
  return n->get<uint64_t>();
}

// --- Publishing

Result<PubAck> JetStream::publish(std::string_view subject, std::string_view data, const PublishOptions& opts) {
  return publish(Msg(str(subject), str(data)), opts);
}

Result<PubAck> JetStream::publish(const Msg& msg, const PublishOptions& opts) {
  auto timeout = opts.timeout.count() > 0 ? opts.timeout : impl_->opts().timeout;
  auto reply = impl_->conn().request(with_publish_headers(msg, opts), timeout);
  if (!reply) {
    if (error_code(reply.status()) == ErrorCode::NoResponders) return no_stream_error(msg.subject);
    return reply.status();
  }
  return detail::pub_ack_from_json(reply->data);
}

Result<std::future<Result<PubAck>>> JetStream::publish_async(const Msg& msg, const PublishOptions& opts) {
  auto promise = std::make_shared<std::promise<Result<PubAck>>>();
  auto future = promise->get_future();
  auto timeout = opts.timeout.count() > 0 ? opts.timeout : impl_->opts().timeout;
  if (Status st = impl_->async_acks->publish(with_publish_headers(msg, opts), timeout, std::move(promise), nullptr);
      !st)
    return st;
  return future;
}

Status JetStream::publish_async(const Msg& msg, const PublishOptions& opts, PubAckHandler handler) {
  if (!handler) return make_error(ErrorCode::InvalidArgument, "publish_async needs a handler");
  auto timeout = opts.timeout.count() > 0 ? opts.timeout : impl_->opts().timeout;
  return impl_->async_acks->publish(with_publish_headers(msg, opts), timeout, nullptr, std::move(handler));
}

Status JetStream::publish_async_complete(std::chrono::milliseconds timeout) {
  return impl_->async_acks->wait_all(timeout);
}

size_t JetStream::publish_async_pending() const { return impl_->async_acks->pending(); }

}  // namespace tern
