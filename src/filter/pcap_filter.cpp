// Kept apart from the eBPF code: pcap/bpf.h and linux/bpf.h both define struct bpf_insn.
#include "filter/pcap_filter.h"

#include <pcap/pcap.h>

#include <memory>

namespace nscope::filter {

Result<std::vector<CbpfInsn>> compile_pcap(const std::string& expr, LinkType link) {
  std::unique_ptr<pcap_t, void (*)(pcap_t*)> p(
      pcap_open_dead(link == LinkType::ethernet ? DLT_EN10MB : DLT_RAW, 65535), pcap_close);
  if (!p) return Error::msg("libpcap cannot open a dead capture handle");
  bpf_program prog{};
  if (pcap_compile(p.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    return Error::msg(pcap_geterr(p.get()));
  std::vector<CbpfInsn> out;
  out.reserve(prog.bf_len);
  for (u_int i = 0; i < prog.bf_len; ++i) {
    const bpf_insn& in = prog.bf_insns[i];
    out.push_back({in.code, in.jt, in.jf, in.k});
  }
  pcap_freecode(&prog);
  return out;
}

bool run_cbpf(const std::vector<CbpfInsn>& prog, const uint8_t* packet, uint32_t caplen,
              uint32_t wirelen) {
  std::vector<bpf_insn> insns;
  insns.reserve(prog.size());
  for (const auto& i : prog) insns.push_back({i.code, i.jt, i.jf, i.k});
  return bpf_filter(insns.data(), packet, wirelen, caplen) != 0;
}

}  // namespace nscope::filter
