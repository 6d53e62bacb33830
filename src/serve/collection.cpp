#include "serve/collection.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include "collect/plan.h"
#include "collect/session.h"
#include "util/strings.h"

namespace nscope::serve {

namespace {
constexpr uint64_t kRingBytes = 16u << 20;

// A field that may be a list or one comma-separated string.
Result<std::vector<std::string>> string_list(const nlohmann::json& j, const char* field) {
  std::vector<std::string> out;
  if (!j.contains(field) || j[field].is_null()) return out;
  const auto& v = j[field];
  if (v.is_string()) {
    if (!v.get<std::string>().empty()) out.push_back(v.get<std::string>());
    return out;
  }
  if (v.is_array()) {
    for (const auto& e : v) {
      if (!e.is_string()) return Error::usage(fmt::format("'{}': give strings", field));
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  return Error::usage(fmt::format("'{}': give a string or a list of strings", field));
}

Result<std::string> string_field(const nlohmann::json& j, const char* field) {
  if (!j.contains(field) || j[field].is_null()) return std::string();
  if (!j[field].is_string()) return Error::usage(fmt::format("'{}': give a string", field));
  return j[field].get<std::string>();
}
}  // namespace

Result<CollectRequest> collect_request_from_json(std::string_view body) {
  auto j = nlohmann::json::parse(body.empty() ? std::string_view("{}") : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::usage("the request body is not a JSON object");
  CollectRequest r;
  auto c = string_list(j, "collectors");
  if (!c) return c.error();
  r.collectors = *c;
  auto n = string_list(j, "netns");
  if (!n) return n.error();
  r.netns = *n;
  auto f = string_field(j, "filter");
  if (!f) return f.error();
  r.packet_filter = *f;
  auto m = string_field(j, "meta");
  if (!m) return m.error();
  r.meta_filter = *m;
  return r;
}

void Collection::publish_state(const std::string& state, nlohmann::json extra) {
  nlohmann::json j = {{"state", state}};
  if (extra.is_object()) j.update(extra);
  hub_.publish("collect", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<void> Collection::start(const CollectRequest& req) {
  std::lock_guard lk(mu_);
  if (state_ != "idle") return Error::msg("a collection is already running: stop it first", ErrorKind::usage);
  if (thread_.joinable()) thread_.join();  // the last one ended by itself
  PlanRequest pr;
  pr.collectors = req.collectors;
  pr.netns = req.netns;
  pr.filters = {req.packet_filter, req.meta_filter};
  PlanInput failed = PlanInput::other;
  auto plan = build_plan(pr, &failed);
  if (!plan) {
    Error e = plan.error();
    const char* field = failed == PlanInput::netns           ? "netns: "
                        : failed == PlanInput::packet_filter ? "filter: "
                        : failed == PlanInput::meta_filter   ? "meta: "
                        : failed == PlanInput::collectors    ? "collectors: "
                                                             : "";
    return e.prefixed(field);
  }
  if (auto c = capture_.begin(); !c) return c.error();
  stop_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_) return Error::sys(errno, "eventfd");
  request_ = {{"collectors", req.collectors}, {"netns", req.netns}, {"filter", req.packet_filter},
              {"meta", req.meta_filter}};
  state_ = "starting";
  publish_state("starting", {{"request", request_}});
  auto shared_plan = std::make_shared<Plan>(std::move(*plan));
  int stop_fd = stop_.get();
  thread_ = std::thread([this, shared_plan, stop_fd] {
    SessionOptions so = session_options_from(*shared_plan);
    so.print = false;
    // The rings count in serve's resident memory, twice over (the kernel maps a ring's pages
    // twice): collect's default (4 MiB a CPU, at least 32 MiB in all) made 64 MiB of serve's
    // 150 (bench/serve/memory.sh). 16 MiB in all: with 8, a flood streamed to a browser lost
    // 1-3% of its events in the kernel (bench/serve), and serve peaked at 78 MiB with 16.
    // Losses are counted as collect's are.
    if (!so.collector.buffer_size) so.collector.buffer_size = kRingBytes;
    // The same for the batches waiting for the writer thread (the live stream's publisher):
    // collect lets 512 MiB wait; in serve a writer starved of CPU for a moment made 60 MiB
    // of it. 8 batches; then the readers wait and the rings' losses are counted.
    so.max_queued_batches = 8;
    so.own_signals = false;
    so.stop_fd = stop_fd;
    so.cmdline = "nscope serve: collect " + request_.dump();
    // Once the capture is full, no one reads most of a flood's events: the browsers are paced
    // (a few hundred events a second each) and take the newest. From then on the readers
    // format runs of events and count the rest, which the stream numbers and counts as
    // dropped, as it does what a paced client skips. Formatting every event cost serve as
    // much CPU as collect's file (bench/serve).
    thin_.store(false);
    so.json_thin = &thin_;
    so.json_sink = [this](std::string_view lines, uint64_t unformatted) {
      size_t n = hub_.publish_lines(lines, unformatted);
      if (capture_.append(lines, n, unformatted)) thin_.store(true, std::memory_order_relaxed);
    };
    so.on_lost = [this](uint64_t lost) { publish_state("running", {{"lost", lost}}); };
    so.on_started = [this] {
      std::lock_guard lk(mu_);
      state_ = "running";
      publish_state("running", {{"request", request_}});
    };
    auto r = run_collect(so);
    nlohmann::json last;
    if (r) last = {{"events", r->events}, {"lost", r->lost}, {"stop_reason", r->stop_reason},
                   {"capture_left_out", capture_.left_out()}};
    if (!r) last = {{"error", r.error().message}};
    else if (!r->write_error.empty()) last["error"] = r->write_error;
    std::lock_guard lk(mu_);
    state_ = "idle";
    last_ = last;
    publish_state("idle", last);
  });
  return {};
}

void Collection::stop() {
  std::thread t;
  {
    std::lock_guard lk(mu_);
    if (stop_) {
      uint64_t one = 1;
      (void)!::write(stop_.get(), &one, sizeof one);
    }
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
  std::lock_guard lk(mu_);
  stop_.reset();
}

nlohmann::json Collection::state() const {
  std::lock_guard lk(mu_);
  nlohmann::json j = {{"state", state_}};
  if (state_ != "idle") j["request"] = request_;
  if (!last_.is_null()) j["last"] = last_;
  return j;
}

}  // namespace nscope::serve
