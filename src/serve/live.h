// `nscope serve`'s live stream: events numbered in the order they happen, a short history to
// resume from (SSE's Last-Event-ID), and each client's place in it. Publishing never waits
// for a client: a client too far behind skips its oldest events and counts them, so a slow
// or vanished browser costs the collection nothing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
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
//   dropped (not numbered) how many events this client was not sent so far: skipped behind
//           its pace or history, or never formatted (a thinned flood)
struct LiveEvent {
  uint64_t id = 0;
  std::string_view type;  // one of the names above (static storage)
  // What `line` points into, shared by the history and every client's queue: the writer's
  // batch of lines is copied once, not once per event or per queue.
  std::shared_ptr<const std::string> data;
  std::string_view line;  // one line of JSON
  std::string_view text() const { return line; }
  // An event of its own (not one of a batch).
  static LiveEvent of(std::string_view type, std::string text, uint64_t id = 0);
};

class LiveHub;

// A client of the stream: where it is in it, and what it lost. Its events stay in the hub's
// history until it takes them: publishing does nothing per client, so a flood costs the
// same with ten clients as with none.
class LiveClient {
 public:
  // Waits up to `wait` for events; takes the oldest not yet taken, up to about max_bytes of
  // text (at least one), so what a slow client is sent at once stays small. Before that,
  // skips the oldest (counted) while more than max_backlog bytes, or more events than the
  // hub's client_queue, wait: what a paced stream sends is never older than its backlog.
  // Ids never formatted (publish_lines' `unformatted`) are skipped and counted too.
  // *dropped: the total this client lost so far. Empty once closed.
  std::vector<LiveEvent> take(std::chrono::milliseconds wait, uint64_t* dropped, size_t max_bytes = 1u << 20,
                              size_t max_backlog = SIZE_MAX);
  void close();
  bool closed() const;

 private:
  friend class LiveHub;
  explicit LiveClient(LiveHub& hub, uint64_t next) : hub_(hub), next_(next) {}
  // Under the hub's lock.
  LiveHub& hub_;
  uint64_t next_;  // the id of the first event it has not taken
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

class LiveHub {
 public:
  // history: events kept for clients that reconnect and for every client's queue (at least
  // this many; whole batches go); client_queue: the most events one client has waiting.
  explicit LiveHub(size_t history = 8192, size_t client_queue = 8192)
      : history_cap_(std::max(history, client_queue)), client_cap_(client_queue) {}
  // Numbers the event, keeps it for the clients; returns its id. `type` must be one of the
  // names above (its text is not copied).
  uint64_t publish(std::string_view type, std::string data);
  // JSON lines as the event writer hands them over: an event line is a `packet`, the
  // `startup` and `stats` records are `collect`. Returns how many lines there were.
  // `unformatted`: events the collection counted but never made into lines (a thinned
  // flood); they take ids before the lines, and every client counts them as dropped.
  size_t publish_lines(std::string_view lines, uint64_t unformatted = 0);
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
  friend class LiveClient;
  // Events first_id, first_id + 1, ... of one type: lines of one shared buffer.
  struct Batch {
    uint64_t first_id;
    std::string_view type;
    std::shared_ptr<const std::string> data;
    struct Span {
      uint32_t begin, end;
    };
    std::vector<Span> lines;
    uint64_t end_id() const { return first_id + lines.size(); }
  };
  // Under mu_: numbers the batch's events and keeps them; the oldest batches go while the
  // history holds history_cap_ events without them. Ids may leave gaps between batches:
  // events never formatted (publish_lines).
  void append_locked(Batch b);
  std::vector<LiveEvent> take(LiveClient& c, std::chrono::milliseconds wait, uint64_t* dropped, size_t max_bytes,
                              size_t max_backlog);
  // A copy of a writer's batch, in a buffer used before where one is free: a fresh MiB-size
  // buffer is a fresh mapping (serve maps buffers over 128 KiB), and faulting its pages in
  // cost the writer thread more than the copy itself. A buffer comes back when the last
  // event in it leaves the history and the clients; a few are kept.
  std::shared_ptr<const std::string> copy_batch(std::string_view batch);
  struct Buffers {
    std::mutex mu;
    std::vector<std::string> free;
  };
  std::shared_ptr<Buffers> buffers_ = std::make_shared<Buffers>();
  const size_t history_cap_, client_cap_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // an event came, or a client closed
  uint64_t next_id_ = 1;
  std::deque<Batch> history_;
  size_t history_events_ = 0;
  std::vector<std::shared_ptr<LiveClient>> clients_;
};

// A live stream's pace, as a token bucket: spend() sleeps while the stream is ahead of
// `bytes_per_second` on average; a second's worth goes at once.
class StreamPace {
 public:
  explicit StreamPace(double bytes_per_second) : rate_(bytes_per_second), tokens_(bytes_per_second) {}
  void spend(size_t bytes);

 private:
  double rate_, tokens_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// The SSE text of one event.
std::string sse_format(const LiveEvent& e);
// The SSE text of events taken together: consecutive `packet` events go out as one message
// (one `data:` line each, so the browser gets them as lines joined by '\n', as collect's file
// has them) whose id is the last one's; a browser handles a flood of messages far slower
// than a flood of lines. Others go one a message.
std::string sse_format(const std::vector<LiveEvent>& events);

}  // namespace nscope::serve
