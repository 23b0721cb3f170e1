#include "server/core/sublist.h"

#include <algorithm>
#include <cassert>

#include "proto/subject.h"

namespace tern::server {

struct Sublist::Node {
  std::unique_ptr<Level> next;
  std::vector<Subscription*> plain;
  std::vector<Subscription*> queued;
  bool empty() const { return plain.empty() && queued.empty() && !next; }
};

struct Sublist::Level {
  std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>> literal;
  std::unique_ptr<Node> pwc;  // '*'
  std::unique_ptr<Node> fwc;  // '>'
  bool empty() const { return literal.empty() && !pwc && !fwc; }
};

namespace {

std::vector<std::string_view> tokenize(std::string_view subject) {
  std::vector<std::string_view> tokens;
  proto::for_each_token(subject, [&](std::string_view t) { tokens.push_back(t); });
  return tokens;
}

void add_node(const std::vector<Subscription*>& plain, const std::vector<Subscription*>& queued, SublistResult& out) {
  out.plain.insert(out.plain.end(), plain.begin(), plain.end());
  for (Subscription* s : queued) {
    auto g = std::find_if(out.queues.begin(), out.queues.end(),
                          [&](const SublistResult::Group& g) { return g.name == s->queue; });
    if (g == out.queues.end()) {
      out.queues.push_back({s->queue, {s}});
    } else {
      g->members.push_back(s);
    }
  }
}

bool erase_ptr(std::vector<Subscription*>& v, Subscription* s) {
  auto it = std::find(v.begin(), v.end(), s);
  if (it == v.end()) return false;
  *it = v.back();
  v.pop_back();
  return true;
}

}  // namespace

Sublist::Sublist() : root_(std::make_unique<Level>()) {}
Sublist::~Sublist() = default;

Status Sublist::insert(Subscription* sub) {
  if (!proto::is_valid_subscribe_subject(sub->subject)) return Status::error("invalid subject");
  Level* level = root_.get();
  Node* node = nullptr;
  proto::for_each_token(sub->subject, [&](std::string_view t) {
    if (!level) {
      node->next = std::make_unique<Level>();
      level = node->next.get();
    }
    std::unique_ptr<Node>* slot;
    if (t == "*") {
      slot = &level->pwc;
    } else if (t == ">") {
      slot = &level->fwc;
    } else {
      auto it = level->literal.find(t);
      if (it == level->literal.end()) it = level->literal.emplace(std::string(t), nullptr).first;
      slot = &it->second;
    }
    if (!*slot) *slot = std::make_unique<Node>();
    node = slot->get();
    level = node->next.get();
  });
  (sub->queue.empty() ? node->plain : node->queued).push_back(sub);
  ++count_;
  ++inserts_;
  invalidate(sub);
  return Status::ok();
}

bool Sublist::remove(Subscription* sub) {
  std::vector<std::string_view> tokens = tokenize(sub->subject);
  // Walk down remembering the path, so empty nodes can be pruned on the way back.
  struct Step {
    Level* level;
    std::string_view token;
  };
  std::vector<Step> path;
  Level* level = root_.get();
  Node* node = nullptr;
  for (std::string_view t : tokens) {
    if (!level) return false;
    path.push_back({level, t});
    if (t == "*") {
      node = level->pwc.get();
    } else if (t == ">") {
      node = level->fwc.get();
    } else {
      auto it = level->literal.find(t);
      node = it == level->literal.end() ? nullptr : it->second.get();
    }
    if (!node) return false;
    level = node->next.get();
  }
  if (!node || !erase_ptr(sub->queue.empty() ? node->plain : node->queued, sub)) return false;
  --count_;
  ++removes_;
  invalidate(sub);

  // Prune: remove empty nodes bottom-up.
  for (size_t i = path.size(); i-- > 0;) {
    Level* lv = path[i].level;
    std::string_view t = path[i].token;
    std::unique_ptr<Node>* slot;
    std::unordered_map<std::string, std::unique_ptr<Node>, StringHash, std::equal_to<>>::iterator lit;
    if (t == "*") {
      slot = &lv->pwc;
    } else if (t == ">") {
      slot = &lv->fwc;
    } else {
      lit = lv->literal.find(t);
      slot = &lit->second;
    }
    Node* n = slot->get();
    if (n->next && n->next->empty()) n->next.reset();
    if (!n->empty()) break;
    if (t == "*" || t == ">") {
      slot->reset();
    } else {
      lv->literal.erase(lit);
    }
  }
  return true;
}

void Sublist::invalidate(const Subscription* sub) {
  if (cache_.empty()) return;
  if (proto::is_literal_subject(sub->subject)) {
    cache_.erase(sub->subject);
    return;
  }
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (proto::subject_matches(sub->subject, it->first)) {
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
}

void Sublist::collect(const Level* level, const std::vector<std::string_view>& tokens, size_t i,
                      SublistResult& out) const {
  // At each level: '>' matches the rest (one or more tokens), '*' this token, then the literal.
  for (; level && i < tokens.size(); ++i) {
    if (level->fwc) add_node(level->fwc->plain, level->fwc->queued, out);
    bool last = i + 1 == tokens.size();
    if (level->pwc) {
      if (last) {
        add_node(level->pwc->plain, level->pwc->queued, out);
      } else {
        collect(level->pwc->next.get(), tokens, i + 1, out);
      }
    }
    auto it = level->literal.find(tokens[i]);
    if (it == level->literal.end()) return;
    const Node* n = it->second.get();
    if (last) {
      add_node(n->plain, n->queued, out);
      return;
    }
    level = n->next.get();
  }
}

void Sublist::visit(const Level* level, const std::function<void(const Subscription&)>& fn) {
  if (!level) return;
  auto node = [&](const Node* n) {
    if (!n) return;
    for (const Subscription* s : n->plain) fn(*s);
    for (const Subscription* s : n->queued) fn(*s);
    visit(n->next.get(), fn);
  };
  for (const auto& [token, n] : level->literal) node(n.get());
  node(level->pwc.get());
  node(level->fwc.get());
}

void Sublist::for_each(const std::function<void(const Subscription&)>& fn) const { visit(root_.get(), fn); }

Sublist::FanoutStats Sublist::cache_fanout() const {
  FanoutStats st;
  size_t total = 0;
  for (const auto& [subject, r] : cache_) {
    size_t n = r->plain.size() + r->queues.size();
    total += n;
    st.max = std::max(st.max, n);
  }
  if (total > 0) st.avg = static_cast<double>(total) / static_cast<double>(cache_.size());
  return st;
}

std::shared_ptr<const SublistResult> Sublist::match(std::string_view subject) {
  ++matches_;
  if (auto it = cache_.find(subject); it != cache_.end()) {
    ++cache_hits_;
    return it->second;
  }
  auto result = std::make_shared<SublistResult>();
  std::vector<std::string_view> tokens = tokenize(subject);
  bool valid = !subject.empty() && std::none_of(tokens.begin(), tokens.end(), [](auto t) { return t.empty(); });
  if (valid) collect(root_.get(), tokens, 0, *result);
  if (cache_.size() >= kMaxCacheEntries) cache_.erase(cache_.begin());
  cache_.emplace(std::string(subject), result);
  return result;
}

}  // namespace tern::server
