#include "serve/live.h"

#include <algorithm>
#include <thread>

namespace nscope::serve {

LiveEvent LiveEvent::of(std::string_view type, std::string text, uint64_t id) {
  LiveEvent e{id, type, std::make_shared<const std::string>(std::move(text)), {}};
  e.line = *e.data;
  return e;
}

std::vector<LiveEvent> LiveClient::take(std::chrono::milliseconds wait, uint64_t* dropped, size_t max_bytes,
                                        size_t max_backlog) {
  return hub_.take(*this, wait, dropped, max_bytes, max_backlog);
}

void LiveClient::close() {
  {
    std::lock_guard lk(hub_.mu_);
    closed_ = true;
  }
  hub_.cv_.notify_all();
}

bool LiveClient::closed() const {
  std::lock_guard lk(hub_.mu_);
  return closed_;
}

void StreamPace::spend(size_t bytes) {
  auto now = std::chrono::steady_clock::now();
  tokens_ = std::min(rate_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
  last_ = now;
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ < 0) std::this_thread::sleep_for(std::chrono::duration<double>(-tokens_ / rate_));
}

void LiveHub::append_locked(Batch b) {
  if (b.lines.empty()) return;
  b.first_id = next_id_;
  next_id_ += b.lines.size();
  history_events_ += b.lines.size();
  history_.push_back(std::move(b));
  while (history_.size() > 1 && history_events_ - history_.front().lines.size() >= history_cap_) {
    history_events_ -= history_.front().lines.size();
    history_.pop_front();
  }
}

uint64_t LiveHub::publish(std::string_view type, std::string data) {
  Batch b{0, type, std::make_shared<const std::string>(std::move(data)), {}};
  b.lines.push_back({0, static_cast<uint32_t>(b.data->size())});
  uint64_t id;
  {
    std::lock_guard lk(mu_);
    append_locked(std::move(b));
    id = next_id_ - 1;
  }
  cv_.notify_all();
  return id;
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
// all of it, and per line only where it starts and ends.
size_t LiveHub::publish_lines(std::string_view batch, uint64_t unformatted) {
  std::shared_ptr<const std::string> data = batch.empty() ? nullptr : copy_batch(batch);
  std::string_view lines = data ? std::string_view(*data) : std::string_view();
  const char* base = lines.data();
  std::vector<Batch> runs;  // one, but for the collection's first and last lines
  size_t n = 0;
  while (!lines.empty()) {
    size_t nl = lines.find('\n');
    std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    if (line.empty()) continue;
    bool record = line.starts_with("{\"startup\"") || line.starts_with("{\"stats\"");
    std::string_view type = record ? "collect" : "packet";
    if (runs.empty() || runs.back().type != type) runs.push_back({0, type, data, {}});
    auto begin = static_cast<uint32_t>(line.data() - base);
    runs.back().lines.push_back({begin, begin + static_cast<uint32_t>(line.size())});
    ++n;
  }
  {
    std::lock_guard lk(mu_);
    next_id_ += unformatted;
    for (auto& r : runs) append_locked(std::move(r));
  }
  cv_.notify_all();
  return n;
}

std::vector<LiveEvent> LiveHub::take(LiveClient& c, std::chrono::milliseconds wait, uint64_t* dropped,
                                     size_t max_bytes, size_t max_backlog) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, wait, [&] { return c.closed_ || next_id_ > c.next_; });
  std::vector<LiveEvent> out;
  if (!c.closed_ && next_id_ > c.next_) {
    // Where this client goes on from: not before the history, nor more than client_cap_
    // events or max_backlog bytes (but at least the newest event) behind.
    uint64_t from = history_.empty() ? next_id_ : std::max(c.next_, history_.front().first_id);
    if (next_id_ - from > client_cap_) from = next_id_ - client_cap_;
    if (max_backlog != SIZE_MAX) {
      size_t bytes = 0;
      uint64_t keep = next_id_;
      for (auto b = history_.rbegin(); b != history_.rend() && keep > from; ++b)
        for (size_t i = b->lines.size(); i-- > 0 && keep > from;) {
          size_t len = b->lines[i].end - b->lines[i].begin;
          if (keep < next_id_ && bytes + len > max_backlog) {
            from = keep;
            break;
          }
          bytes += len;
          keep = b->first_id + i;
        }
    }
    c.dropped_ += from - c.next_;
    // The oldest events from there, up to max_bytes (at least one).
    auto b = std::upper_bound(history_.begin(), history_.end(), from,
                              [](uint64_t id, const Batch& x) { return id < x.end_id(); });
    // Ids between batches were never formatted: dropped for every client.
    size_t bytes = 0;
    uint64_t id = from;
    for (; b != history_.end(); ++b) {
      if (b->first_id > id) {
        c.dropped_ += b->first_id - id;
        id = b->first_id;
      }
      for (size_t i = id - b->first_id; i < b->lines.size(); ++i, ++id) {
        size_t len = b->lines[i].end - b->lines[i].begin;
        if (!out.empty() && bytes + len > max_bytes) goto full;
        bytes += len;
        out.push_back({id, b->type, b->data, std::string_view(b->data->data() + b->lines[i].begin, len)});
      }
    }
    c.dropped_ += next_id_ - id;  // after the newest batch
    id = next_id_;
  full:
    c.next_ = id;
  }
  if (dropped) *dropped = c.dropped_;
  return out;
}

std::shared_ptr<LiveClient> LiveHub::subscribe(uint64_t last_id, bool resume) {
  std::lock_guard lk(mu_);
  auto c = std::shared_ptr<LiveClient>(new LiveClient(*this, resume ? std::min(last_id + 1, next_id_) : next_id_));
  clients_.push_back(c);
  return c;
}

void LiveHub::unsubscribe(const std::shared_ptr<LiveClient>& c) {
  c->close();
  std::lock_guard lk(mu_);
  std::erase(clients_, c);
}

void LiveHub::close_all() {
  {
    std::lock_guard lk(mu_);
    for (auto& c : clients_) c->closed_ = true;
    clients_.clear();
  }
  cv_.notify_all();
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
