// How a probe is written (`collect -p`, `pcap -p`) and which recorded events come from it:
// the syntax alone, no kernel asked, so files recorded elsewhere can be matched too.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.h"

namespace nscope {

enum class ProbeKind { tracepoint, kprobe, kretprobe, fentry, fexit };

// "tracepoint", "kprobe", "kretprobe", "fentry", "fexit": the form's prefix.
std::string_view probe_kind_name(ProbeKind k);

// A probe as `collect -p` takes it, before the kernel is asked about it (so files recorded
// elsewhere can be matched against it too): "net:netif_receive_skb", "tp:net:*",
// "raw_tp:..." and "raw_tracepoint:..." (Retis's spelling) for tracepoints; "kprobe:ip_rcv"
// or "k:ip_rcv", "kretprobe:ovs_dp_upcall" or "kr:...", "fentry:FUNC", "fexit:FUNC" for
// kernel functions. Either name may be a * glob.
struct ProbeForm {
  ProbeKind kind = ProbeKind::tracepoint;
  std::string group;  // tracepoints: "net"
  std::string name;   // the tracepoint's or the function's name, or a glob
  bool glob() const;
  // Whether an event with this kernel.probe_type and kernel.symbol comes from a probe of this
  // form ("raw_tracepoint" and "net:netif_receive_skb", "kretprobe" and "ovs_dp_upcall"). An
  // event that names no probe_type is judged by its symbol alone.
  bool matches(std::string_view probe_type, std::string_view symbol) const;
};
// The form of one spec; an Error names it and lists the valid forms.
Result<ProbeForm> parse_probe_form(std::string_view spec);

// The kind a spec names: kprobe for "kprobe:ip_rcv"; tracepoint for "net:...", and for
// anything else (resolve_probes then says what is wrong with it).
ProbeKind probe_kind_of(std::string_view spec);

// "kprobe:ip_rcv" -> kprobe, "ip_rcv"; nullopt for a tracepoint form.
std::optional<std::pair<ProbeKind, std::string_view>> function_form(std::string_view s);
bool is_glob(std::string_view s);
// The forms, for messages.
extern const std::string_view kProbeForms;

}  // namespace nscope
