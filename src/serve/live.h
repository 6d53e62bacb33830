// `nscope serve`'s live stream: events numbered in the order they happen, a short history to
// resume from (SSE's Last-Event-ID), and one bounded queue per client. Publishing never
// waits for a client: a full queue drops its oldest event and counts it, so a slow or
// vanished browser costs the collection nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace nscope::serve {

// Event types on the stream (SSE `event:` field).
//   packet  one event as `collect -o FILE` writes it (one JSON line)
//   collect the collection's startup and stats records, and its state changes
//   netns   a change to a namespace (made, ended, named, a device made or moved, ...): one
//           event as `nscope watch --json` writes it, from serve's watcher
//   dropped (not numbered) how many events this client has lost so far
struct LiveEvent {
  uint64_t id = 0;
  std::string_view type;  // one of the names above (static storage)
  // One line of JSON, shared by the history and every client's queue: a flood's event is
  // copied once, not once per queue.
  std::shared_ptr<const std::string> data;
  const std::string& text() const { return *data; }
};

class LiveClient {
 public:
  explicit LiveClient(size_t capacity) : capacity_(capacity) {}
  // Waits up to `wait` for events; takes the oldest queued, up to about max_bytes of text
  // (at least one), so what a slow client is sent at once stays small. *dropped: the total
  // this client lost so far. Empty once closed.
  std::vector<LiveEvent> take(std::chrono::milliseconds wait, uint64_t* dropped, size_t max_bytes = 1u << 20);
  void close();
  bool closed() const;

 private:
  friend class LiveHub;
  void push(const LiveEvent& e);  // drops the oldest when full
  void push(const std::vector<LiveEvent>& events);
  void lose(uint64_t n);
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LiveEvent> queue_;
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

class LiveHub {
 public:
  // history: events kept for clients that reconnect; client_queue: each client's bound.
  explicit LiveHub(size_t history = 8192, size_t client_queue = 16384)
      : history_cap_(history), client_cap_(client_queue) {}
  // Numbers the event, keeps it, hands it to every client; returns its id. `type` must be
  // one of the names above (its text is not copied).
  uint64_t publish(std::string_view type, std::string data);
  // JSON lines as the event writer hands them over: an event line is a `packet`, the
  // `startup` and `stats` records are `collect`.
  void publish_lines(std::string_view lines);
  // A new client, given what it has seen (0: nothing; it gets only what comes next). It
  // resumes after `last_id` from the history; events older than the history count as
  // dropped for it.
  std::shared_ptr<LiveClient> subscribe(uint64_t last_id, bool resume);
  void unsubscribe(const std::shared_ptr<LiveClient>& c);
  // Wakes every client's wait and ends their streams (server shutdown).
  void close_all();
  uint64_t last_id() const;
  size_t clients() const;

 private:
  void publish_locked(std::vector<LiveEvent>& events);
  const size_t history_cap_, client_cap_;
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::deque<LiveEvent> history_;
  std::vector<std::shared_ptr<LiveClient>> clients_;
};

// The SSE text of one event.
std::string sse_format(const LiveEvent& e);
// The SSE text of events taken together: consecutive `packet` events go out as one message
// (one `data:` line each, so the browser gets them as lines joined by '\n', as collect's file
// has them) whose id is the last one's; a browser handles a flood of messages far slower
// than a flood of lines. Others go one a message.
std::string sse_format(const std::vector<LiveEvent>& events);

}  // namespace nscope::serve
