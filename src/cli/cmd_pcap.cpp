// `nscope pcap FILE -o OUT.pcapng`: the packets of a recorded event file as pcapng, one
// interface per (namespace, device), each packet's event text as its comment.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/event_files.h"
#include "events/format.h"
#include "events/pcapng.h"
#include "events/probe_select.h"
#include "util/strings.h"

namespace nscope::cli {

namespace {

struct PcapArgs {
  std::string file;
  std::string out;
  std::vector<std::string> probes;
  bool skip_bad = false;
};

// What -p left behind: an error naming each probe that matched no event, with the probes
// the file's events do come from.
std::string unmatched_probes(const ProbeSelection& sel, const std::string& file) {
  auto none = sel.unmatched();
  std::string msg = none.size() == 1 ? "probe '" + none[0] + "' (-p) matches no event in " + file
                                     : "probes ";
  if (none.size() > 1) {
    for (size_t i = 0; i < none.size(); ++i) msg += (i ? ", '" : "'") + none[i] + "'";
    msg += " (-p) match no event in " + file;
  }
  auto seen = sel.seen();
  if (seen.empty()) return msg + ": it has no events";
  msg += "; its events come from";
  for (size_t i = 0; i < seen.size(); ++i)
    msg += fmt::format("{} {} ({})", i ? "," : ":", seen[i].first, seen[i].second);
  return msg;
}

int run_pcap(const PcapArgs& a) {
  std::vector<std::string> specs;
  for (const auto& p : a.probes)
    if (!trim(p).empty()) specs.push_back(p);
  auto selected = ProbeSelection::parse(specs);
  if (!selected) throw UsageError("-p: " + selected.error().message);
  ProbeSelection& sel = *selected;

  auto reader = open_event_file(a.file, a.skip_bad);
  // The first event is read before the output is created: a file that is no event file
  // leaves no empty pcapng behind.
  const Event* e = next_event(*reader);
  // From here on an error (a malformed line, a probe that matched nothing) removes the
  // output it cut short: see OutFile.
  OutFile out(a.out);
  if (out.is_terminal())
    throw UsageError("refusing to write pcapng to a terminal: give -o FILE, or pipe it");
  const StartupInfo& st = reader->startup();
  TextOptions opt;
  opt.names = &st.netns_names;

  std::unique_ptr<PcapngWriter> pcap;
  std::string comment;
  uint64_t written = 0, no_data = 0, filtered = 0;
  auto start = [&] {
    pcap = std::make_unique<PcapngWriter>(pcapng_options(st, std::string("nscope ") + NSCOPE_VERSION));
    pcap->begin(out.buf);
  };
  for (; e; e = next_event(*reader)) {
    if (!pcap) start();  // after the startup line: names and the clock offset are known
    if (!sel.wants(*e)) {
      ++filtered;
      continue;
    }
    comment.clear();
    format_event_text(*e, opt, comment);
    while (!comment.empty() && comment.back() == '\n') comment.pop_back();
    if (pcap->add(*e, comment, out.buf))
      ++written;
    else
      ++no_data;
    out.maybe_flush();
  }
  if (!sel.unmatched().empty()) throw std::runtime_error(unmatched_probes(sel, reader->name()));
  if (!pcap) start();
  out.close();
  std::cerr << fmt::format("nscope: {} packet{} on {} interface{} written to {}", written,
                           written == 1 ? "" : "s", pcap->interfaces(),
                           pcap->interfaces() == 1 ? "" : "s", a.out);
  if (uint64_t n = pcap->short_captures())
    std::cerr << fmt::format("; {} packet{} captured short (snap length {} bytes)", n,
                             n == 1 ? "" : "s", pcap->longest_short_capture());
  if (no_data) std::cerr << fmt::format("; {} events without packet data left out", no_data);
  if (filtered) std::cerr << fmt::format("; {} events at other probes left out", filtered);
  std::cerr << '\n';
  return 0;
}

}  // namespace

Runner register_pcap(CLI::App& app) {
  auto a = std::make_shared<PcapArgs>();
  auto* c = app.add_subcommand("pcap", "Write the packets of a recorded event file as pcapng");
  add_event_file_options(c, a->file, a->skip_bad);
  c->add_option("-o,--out", a->out, "pcapng file to write (- for standard output)")->required();
  c->add_option("-p,--probe", a->probes,
                "Only events at these probes, in collect -p's forms (net:netif_receive_skb, "
                "tp:net:*, kprobe:ip_rcv, kretprobe:ovs_dp_upcall, fentry:FUNC, fexit:FUNC) "
                "or a bare name (netif_receive_skb); a probe that matches no event is an error")
      ->delimiter(',');
  return [a, c]() { return c->parsed() ? run_pcap(*a) : -1; };
}

}  // namespace nscope::cli
