// `collect -m EXPR`: a filter on fields of struct sk_buff reached by name through the running
// kernel's BTF, following pointers, evaluated in the kernel (the meta stub of
// bpf/filter_stubs.h).
//
//   sk_buff.dev.nd_net.net.ns.inum == 4026531840
//   sk_buff.mark & 0xff == 0x10 and not sk_buff.len < 1000
//   sk_buff.dev.name == "eth0" or (sk_buff.pkt_type != 0)
//
// Operators == != < <= > >=, `and` `or` `not` (also && || !), parentheses, `& MASK` on a
// field; numbers in decimal or hex (negative for signed fields); strings for char arrays
// (== and != only). A path alone means "!= 0".
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

struct btf;

namespace nscope::filter {

struct MetaNode {
  enum Kind { cmp, and_, or_, not_ } kind = cmp;
  // cmp:
  std::vector<std::string> path;  // {"sk_buff", "dev", "name"}
  std::vector<int> path_cols;     // 1-based column of each path element
  std::string op = "!=";          // == != < <= > >=
  bool has_mask = false;
  uint64_t mask = 0;
  bool is_string = false;
  std::string str;
  uint64_t value = 0;  // two's complement when negative
  bool negative = false;
  int col = 1;         // where the comparison starts
  // and_/or_/not_:
  std::unique_ptr<MetaNode> lhs, rhs;
};

// Pure syntax. Errors (usage errors) say what and where: "expected a value after '=='
// (column 15)"; the caller says which option the expression came from.
Result<std::unique_ptr<MetaNode>> parse_meta(const std::string& expr);

// Parses, checks every field against `vmlinux` and compiles the body of
// nscope_filter_meta(skb). Errors: "no field 'devv' in struct sk_buff (column 9)".
Result<std::vector<bpf_insn>> compile_meta_filter(const std::string& expr, const btf* vmlinux);

}  // namespace nscope::filter
