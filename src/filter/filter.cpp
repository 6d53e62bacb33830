#include "filter/filter.h"

#include <algorithm>

#include <fmt/format.h>

#include "filter/cbpf.h"
#include "filter/meta.h"
#include "filter/pcap_filter.h"

namespace nscope::filter {
namespace {

Result<void> compile_packet(const std::string& expr, FilterSet& f) {
  auto eth = compile_pcap(expr, LinkType::ethernet);
  auto raw = compile_pcap(expr, LinkType::raw_ip);
  if (!eth && !raw) return Error::usage(fmt::format("'{}': {}", expr, eth.error().message));
  // An expression only one shape can match ("arp" has no meaning for a bare IP packet):
  // packets of the other shape are rejected.
  auto code = translate_packet_filter(eth ? *eth : std::vector<CbpfInsn>{},
                                      raw ? *raw : std::vector<CbpfInsn>{});
  if (!code) return Error::usage(fmt::format("'{}': {}", expr, code.error().message));
  f.packet = std::move(*code);
  f.packet_bytes = std::max(eth ? packet_bytes_needed(*eth) : 0u, raw ? packet_bytes_needed(*raw) : 0u);
  return {};
}

}  // namespace

Result<void> compile_filters(const FilterExpressions& expr, const btf* vmlinux, FilterSet& out,
                             Expression* failed) {
  Expression ignored;
  if (!failed) failed = &ignored;
  *failed = Expression::packet;
  if (!expr.packet.empty())
    if (auto r = compile_packet(expr.packet, out); !r) return r;
  *failed = Expression::meta;
  if (!expr.meta.empty()) {
    auto code = compile_meta_filter(expr.meta, vmlinux);
    if (!code) return Error::usage(code.error().message);
    out.meta = std::move(*code);
  }
  return {};
}

}  // namespace nscope::filter
