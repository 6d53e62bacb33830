// The running kernel's BTF, read in one pass, to say where named struct members sit.
//
// The iterators of bpf/nsiter.bpf.c read kernel structures at byte offsets found here rather
// than through CO-RE relocations: libbpf resolves those by parsing all 5.5 MB of the kernel's
// BTF (~17 ms) and the kernel by searching its ~130,000 types once per relocated type at every
// load (~10 ms). This reader maps /sys/kernel/btf/vmlinux, walks the type records once (~1 ms)
// and keeps only an index and the structs it was asked for.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.h"

struct btf_type;  // <linux/btf.h>

namespace nscope {

struct BtfMember {
  uint32_t offset = 0;  // bytes from the start of the outermost struct
  uint32_t size = 0;    // bytes; a pointer counts 8
};

class KernelBtf {
 public:
  // Maps (or, where sysfs cannot map it, reads) a raw BTF file such as
  // /sys/kernel/btf/vmlinux. Only the structs and unions named in `wanted` can be asked
  // about afterwards.
  static Result<KernelBtf> open(const std::string& path, const std::vector<std::string>& wanted);
  // The same over raw BTF bytes in memory (copied).
  static Result<KernelBtf> parse(std::string_view raw, const std::vector<std::string>& wanted);

  // The member at `path` of struct or union `type`: "tgid", "ns.inum",
  // "__sk_common.skc_net.net". Members of anonymous structs and unions count as the outer
  // type's own (as C sees them); typedefs and qualifiers are looked through. Where the kernel
  // has several types of that name, they must agree. Bitfields are refused.
  Result<BtfMember> member(std::string_view type, std::string_view path) const;
  // sizeof the struct or union `type`.
  Result<uint32_t> size_of(std::string_view type) const;

 private:
  struct Storage;
  struct Found {
    uint32_t offset;  // bytes
    uint32_t type;    // the member's type id
    bool bitfield;
  };

  KernelBtf() = default;
  Result<void> index(const std::vector<std::string>& wanted);
  const ::btf_type* type(uint32_t id) const;
  std::string_view name(uint32_t name_off) const;
  uint32_t skip_modifiers(uint32_t id) const;  // through typedef, const, volatile, ...
  Result<uint32_t> type_size(uint32_t id) const;
  std::optional<Found> find_member(uint32_t struct_id, std::string_view name, int depth) const;
  Result<BtfMember> member_of(uint32_t struct_id, std::string_view path) const;

  std::shared_ptr<Storage> storage_;  // the raw bytes (a mapping or a copy)
  const char* types_ = nullptr;       // the type section
  const char* strings_ = nullptr;     // the string section
  uint32_t strings_len_ = 0;
  std::vector<uint32_t> offsets_;     // type id - 1 -> its record's offset in the type section
  std::unordered_map<std::string, std::vector<uint32_t>> named_;  // wanted name -> struct ids
};

}  // namespace nscope
