// `pcap -p`: which events to keep, by the probe that recorded them (kernel.probe_type and
// kernel.symbol), with the probe forms `collect -p` takes (parse_probe_form): a tracepoint
// "net:netif_receive_skb" (or "tp:...", "raw_tracepoint:..."), a function "kprobe:ip_rcv",
// "kretprobe:ovs_dp_upcall", "fentry:...", "fexit:...". A bare name ("netif_receive_skb")
// keeps a function of that name or a tracepoint of that name in any group, whatever the
// probe's type. Names may be * globs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "events/probe_form.h"
#include "events/event.h"
#include "util/result.h"

namespace nscope {

class ProbeSelection {
 public:
  // An Error names a malformed spec and the valid forms. No specs: every event is kept.
  static Result<ProbeSelection> parse(const std::vector<std::string>& specs);

  // Whether `e` is kept; counts it for its probe and for each spec it matches.
  bool wants(const Event& e);
  // The specs that have matched no event so far, as given.
  std::vector<std::string> unmatched() const;
  // The probes of the events seen so far, in collect -p form ("net:netif_receive_skb",
  // "kretprobe:ovs_dp_upcall"), each with its count of events, in order of first sight.
  std::vector<std::pair<std::string, uint64_t>> seen() const;

 private:
  struct Spec {
    std::string text;
    bool bare = false;  // a name alone: `form` holds it as a function
    ProbeForm form;
    uint64_t matched = 0;
  };
  struct Probe {
    std::string type, symbol;
    uint64_t events = 0;
    std::vector<uint32_t> specs;  // the specs it matches
  };
  bool spec_matches(const Spec& s, std::string_view type, std::string_view symbol) const;
  Probe& probe_of(const Event& e);

  std::vector<Spec> specs_;
  std::vector<Probe> probes_;
  // Events name their probe with interned strings: looked up by address first.
  struct PtrHash {
    size_t operator()(const std::pair<const char*, const char*>& p) const {
      return std::hash<const void*>()(p.first) * 31 ^ std::hash<const void*>()(p.second);
    }
  };
  std::unordered_map<std::pair<const char*, const char*>, uint32_t, PtrHash> by_address_;
  std::unordered_map<std::string, uint32_t> by_name_;  // type '\0' symbol
};

}  // namespace nscope
