#include "serve/live.h"

#include <algorithm>

namespace nscope::serve {

void LiveClient::push(const LiveEvent& e) {
  bool was_empty;
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    if (queue_.size() >= capacity_) {
      queue_.pop_front();
      ++dropped_;
    }
    was_empty = queue_.empty();
    queue_.push_back(e);
  }
  if (was_empty) cv_.notify_one();  // a waiting reader waits only on an empty queue
}

void LiveClient::lose(uint64_t n) {
  std::lock_guard lk(mu_);
  dropped_ += n;
}

std::vector<LiveEvent> LiveClient::take(std::chrono::milliseconds wait, uint64_t* dropped) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, wait, [&] { return !queue_.empty() || closed_; });
  std::vector<LiveEvent> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
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

uint64_t LiveHub::publish(std::string_view type, std::string data) {
  std::lock_guard lk(mu_);
  LiveEvent e{next_id_++, std::string(type), std::move(data)};
  for (auto& c : clients_) c->push(e);
  history_.push_back(std::move(e));
  if (history_.size() > history_cap_) history_.pop_front();
  return next_id_ - 1;
}

void LiveHub::publish_lines(std::string_view lines) {
  while (!lines.empty()) {
    size_t nl = lines.find('\n');
    std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    if (line.empty()) continue;
    bool record = line.starts_with("{\"startup\"") || line.starts_with("{\"stats\"");
    publish(record ? "collect" : "packet", std::string(line));
  }
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

std::string sse_format(const LiveEvent& e) {
  std::string s;
  s.reserve(e.data.size() + e.type.size() + 32);
  if (e.id) s += "id: " + std::to_string(e.id) + '\n';
  s += "event: " + e.type + '\n';
  s += "data: " + e.data + "\n\n";  // one line: JSON lines never hold a newline
  return s;
}

std::string sse_format(const std::vector<LiveEvent>& events) {
  std::string s;
  for (size_t i = 0; i < events.size();) {
    if (events[i].type != "packet") {
      s += sse_format(events[i++]);
      continue;
    }
    size_t j = i;
    std::string data;
    for (; j < events.size() && events[j].type == "packet"; ++j) {
      data += "data: ";
      data += events[j].data;
      data += '\n';
    }
    s += "id: " + std::to_string(events[j - 1].id) + "\nevent: packet\n";
    s += data;
    s += '\n';
    i = j;
  }
  return s;
}

}  // namespace nscope::serve
