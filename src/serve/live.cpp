#include "serve/live.h"

#include <algorithm>
#include <thread>

namespace nscope::serve {

LiveEvent LiveEvent::of(std::string_view type, std::string text, uint64_t id) {
  LiveEvent e{id, type, std::make_shared<const std::string>(std::move(text)), {}};
  e.line = *e.data;
  return e;
}

void LiveClient::pop_front_locked() {
  bytes_ -= queue_.front().line.size();
  queue_.pop_front();
}

void LiveClient::push(const LiveEvent& e) {
  bool was_empty;
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    if (queue_.size() >= capacity_) {
      pop_front_locked();
      ++dropped_;
    }
    was_empty = queue_.empty();
    queue_.push_back(e);
    bytes_ += e.line.size();
  }
  if (was_empty) cv_.notify_one();  // a waiting reader waits only on an empty queue
}

void LiveClient::push(const std::vector<LiveEvent>& events) {
  bool was_empty;
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    was_empty = queue_.empty();
    for (const auto& e : events) {
      if (queue_.size() >= capacity_) {
        pop_front_locked();
        ++dropped_;
      }
      queue_.push_back(e);
      bytes_ += e.line.size();
    }
  }
  if (was_empty) cv_.notify_one();
}

void LiveClient::lose(uint64_t n) {
  std::lock_guard lk(mu_);
  dropped_ += n;
}

std::vector<LiveEvent> LiveClient::take(std::chrono::milliseconds wait, uint64_t* dropped, size_t max_bytes,
                                        size_t max_backlog) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, wait, [&] { return !queue_.empty() || closed_; });
  while (queue_.size() > 1 && bytes_ > max_backlog) {
    pop_front_locked();
    ++dropped_;
  }
  std::vector<LiveEvent> out;
  size_t bytes = 0;
  while (!queue_.empty() && (out.empty() || bytes + queue_.front().line.size() <= max_bytes)) {
    bytes += queue_.front().line.size();
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  bytes_ -= bytes;
  if (dropped) *dropped = dropped_;
  return out;
}

void LiveClient::close() {
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool LiveClient::closed() const {
  std::lock_guard lk(mu_);
  return closed_;
}

void StreamPace::spend(size_t bytes) {
  auto now = std::chrono::steady_clock::now();
  tokens_ = std::min(rate_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
  last_ = now;
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ < 0) std::this_thread::sleep_for(std::chrono::duration<double>(-tokens_ / rate_));
}

// Under mu_: numbers the events, hands them to every client, keeps them.
void LiveHub::publish_locked(std::vector<LiveEvent>& events) {
  for (auto& e : events) e.id = next_id_++;
  for (auto& c : clients_) c->push(events);
  for (auto& e : events) history_.push_back(std::move(e));
  while (history_.size() > history_cap_) history_.pop_front();
}

uint64_t LiveHub::publish(std::string_view type, std::string data) {
  std::vector<LiveEvent> one{LiveEvent::of(type, std::move(data))};
  std::lock_guard lk(mu_);
  publish_locked(one);
  return next_id_ - 1;
}

std::shared_ptr<const std::string> LiveHub::copy_batch(std::string_view batch) {
  constexpr size_t kKeep = 4;
  std::string buf;
  {
    std::lock_guard lk(buffers_->mu);
    if (!buffers_->free.empty()) {
      buf = std::move(buffers_->free.back());
      buffers_->free.pop_back();
    }
  }
  buf.assign(batch);
  return std::shared_ptr<const std::string>(new std::string(std::move(buf)), [b = buffers_](const std::string* p) {
    std::unique_ptr<std::string> s(const_cast<std::string*>(p));
    std::lock_guard lk(b->mu);
    if (b->free.size() < kKeep) b->free.push_back(std::move(*s));
  });
}

// The writer hands over a batch (up to a MiB of lines) at a time: one copy and one lock for
// all of it.
size_t LiveHub::publish_lines(std::string_view batch) {
  auto data = copy_batch(batch);
  std::string_view lines = *data;
  std::vector<LiveEvent> events;
  while (!lines.empty()) {
    size_t nl = lines.find('\n');
    std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    if (line.empty()) continue;
    bool record = line.starts_with("{\"startup\"") || line.starts_with("{\"stats\"");
    events.push_back({0, record ? "collect" : "packet", data, line});
  }
  std::lock_guard lk(mu_);
  publish_locked(events);
  return events.size();
}

std::shared_ptr<LiveClient> LiveHub::subscribe(uint64_t last_id, bool resume) {
  auto c = std::make_shared<LiveClient>(client_cap_);
  std::lock_guard lk(mu_);
  if (resume) {
    uint64_t oldest = history_.empty() ? next_id_ : history_.front().id;
    if (last_id + 1 < oldest) c->lose(oldest - last_id - 1);
    for (const auto& e : history_)
      if (e.id > last_id) c->push(e);
  }
  clients_.push_back(c);
  return c;
}

void LiveHub::unsubscribe(const std::shared_ptr<LiveClient>& c) {
  c->close();
  std::lock_guard lk(mu_);
  std::erase(clients_, c);
}

void LiveHub::close_all() {
  std::lock_guard lk(mu_);
  for (auto& c : clients_) c->close();
  clients_.clear();
}

uint64_t LiveHub::last_id() const {
  std::lock_guard lk(mu_);
  return next_id_ - 1;
}

size_t LiveHub::clients() const {
  std::lock_guard lk(mu_);
  return clients_.size();
}

namespace {
void append_one(std::string& s, const LiveEvent& e) {
  if (e.id) {
    s += "id: ";
    s += std::to_string(e.id);
    s += '\n';
  }
  s += "event: ";
  s += e.type;
  s += "\ndata: ";
  s += e.text();  // one line: JSON lines never hold a newline
  s += "\n\n";
}
}  // namespace

std::string sse_format(const LiveEvent& e) {
  std::string s;
  append_one(s, e);
  return s;
}

std::string sse_format(const std::vector<LiveEvent>& events) {
  size_t bytes = 0;
  for (const auto& e : events) bytes += e.line.size() + 8;
  std::string s;
  s.reserve(bytes + 64);
  for (size_t i = 0; i < events.size();) {
    if (events[i].type != "packet") {
      append_one(s, events[i++]);
      continue;
    }
    size_t j = i;
    while (j < events.size() && events[j].type == "packet") ++j;
    s += "id: ";
    s += std::to_string(events[j - 1].id);
    s += "\nevent: packet\n";
    for (; i < j; ++i) {
      s += "data: ";
      s += events[i].text();
      s += '\n';
    }
    s += '\n';
  }
  return s;
}

}  // namespace nscope::serve
