// `nscope sort FILE`: the events of a recorded file grouped into one series per packet, in
// time order, each with the path it took across namespaces and where it ended.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/event_files.h"
#include "cli/units.h"
#include "events/sort.h"

namespace nscope::cli {

namespace {

struct SortArgs {
  std::string file;
  std::string out;
  std::string window = "5s";
  size_t max_buffered = SortOptions{}.max_buffered;
  std::string max_text = "512M";
  bool ethernet = false;
  bool utc = false;
  bool skip_bad = false;
  std::string format = "nscope";
};

int run_sort(const SortArgs& a) {
  SortOptions so;
  so.window_ns = *time_ns(a.window);  // checked by CLI11
  if (a.max_buffered == 0) throw UsageError("--max-buffered: give a number of events above 0");
  so.max_buffered = a.max_buffered;
  so.max_text_bytes = *size_bytes(a.max_text);

  bool json = !a.out.empty();
  if (json && a.format != "nscope")
    throw UsageError("--format sets the text sort prints; -o writes nscope's JSON series: "
                     "give one or the other");
  // JSON output writes each event as it was read: keep the lines.
  auto reader = open_event_file(a.file, a.skip_bad, json);
  const Event* e = next_event(*reader);  // before -o creates its file: see cmd_pcap.cpp
  OutFile out(json ? a.out : "-");
  const StartupInfo& st = reader->startup();
  // The startup line comes before the events: one rule for every series of the file.
  so.consume = consume_traced(st);
  TextOptions opt;
  opt.ethernet = a.ethernet;
  opt.utc = a.utc;
  opt.retis = a.format == "retis";
  opt.names = &st.netns_names;
  PathNames names{&st.netns_names, 0};

  Sorter sorter(so, [&](const Series& s) {
    names.initial_netns = st.initial_netns;
    if (json) {
      format_series_json(s, names, out.buf);
      out.buf += '\n';
    } else {
      opt.mono_to_utc_ns = st.mono_to_utc_ns;
      opt.has_offset = reader->has_startup() && st.mono_to_utc_ns != 0;
      format_series_text(s, opt, names, out.buf);
    }
    out.maybe_flush();
  });
  OvsLinker ovs;
  Event linked;
  for (; e; e = next_event(*reader)) {
    // An upcalled packet's events, in the kernel and in ovs-vswitchd, are one series.
    if (e->ovs.kind != OvsKind::none || (e->has_tracking && ovs.aliasing())) {
      copy_event(linked, *e);
      if (ovs.link(linked)) {
        sorter.add(linked, reader->text());
        continue;
      }
    }
    sorter.add(*e, reader->text());
  }
  sorter.finish();
  out.close();

  const SortStats& s = sorter.stats();
  std::cerr << fmt::format("nscope: {} events in {} series{}\n", s.events, s.series,
                           json ? " written to " + a.out : "");
  if (s.continued) {
    std::string why = fmt::format("its events were more than --window {} apart", a.window);
    if (s.forced) why += fmt::format(", or more than --max-buffered {} events were pending", so.max_buffered);
    if (s.forced_text) why += fmt::format(", or their lines held more than --max-text {}", a.max_text);
    std::cerr << fmt::format(
        "nscope: {} series continue a packet written out earlier (marked \"(continued)\"): {}; "
        "raise {} to keep such packets in one series\n",
        s.continued, why, s.forced || s.forced_text ? "them" : "it");
    if (s.continued_forgotten)
      std::cerr << fmt::format(
          "nscope: {} of them continue a packet written out more than {} series earlier: "
          "their positions count from n 0 again\n",
          s.continued_forgotten, so.remember_closed);
  }
  if (s.forced)
    std::cerr << fmt::format(
        "nscope: {} series written out before complete: more than --max-buffered {} events "
        "were pending\n",
        s.forced, so.max_buffered);
  if (s.forced_text)
    std::cerr << fmt::format(
        "nscope: {} series written out before complete: the events pending held more than "
        "--max-text {} of lines\n",
        s.forced_text, a.max_text);
  if (s.receive_unsure)
    std::cerr << fmt::format(
        "nscope: {} series last seen at netif_receive_skb read \"still in flight\": the file "
        "does not say whether skb:consume_skb, a delivered packet's end, was traced\n",
        s.receive_unsure);
  return 0;
}

}  // namespace

Runner register_sort(CLI::App& app) {
  auto a = std::make_shared<SortArgs>();
  auto* c = app.add_subcommand("sort", "Group a recorded event file into one series per packet");
  add_event_file_options(c, a->file, a->skip_bad);
  c->add_option("-o,--out", a->out, "Write the series as JSON lines to FILE instead of text");
  c->add_option("--window", a->window,
                "A packet's series is complete after this long without its events, in the "
                "file's time (default 5s)")
      ->check(time_check("5s, 500ms or 2m"));
  c->add_option("--max-buffered", a->max_buffered,
                "Hold at most N events in memory; the oldest series is written out past that "
                "(default 100000)");
  c->add_option("--max-text", a->max_text,
                "With -o, hold at most SIZE of the pending events' lines (kept to write the "
                "events as they were read); the oldest series is written out past that "
                "(default 512M)")
      ->check(size_check("512M or 2G"));
  add_text_options(c, a->ethernet, a->utc, a->format,
                   "nscope (the default: each series with its path and end) or retis (exactly as "
                   "`retis sort` prints series)");
  return [a, c]() { return c->parsed() ? run_sort(*a) : -1; };
}

}  // namespace nscope::cli
