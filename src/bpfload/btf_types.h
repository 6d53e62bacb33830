// Small helpers over libbpf's BTF API shared by the code that reads kernel types (probe
// argument layouts, meta-filter fields).
#pragma once

#include <bpf/btf.h>

#include <cstdint>

namespace nscope {

// Follows typedefs and qualifiers to the type underneath; *out_id gets its id.
inline const btf_type* skip_btf_mods(const btf* b, uint32_t id, uint32_t* out_id = nullptr) {
  const btf_type* t = btf__type_by_id(b, id);
  while (t && (btf_is_typedef(t) || btf_is_const(t) || btf_is_volatile(t) || btf_is_restrict(t) ||
               btf_is_type_tag(t))) {
    id = t->type;
    t = btf__type_by_id(b, id);
  }
  if (out_id) *out_id = id;
  return t;
}

}  // namespace nscope
