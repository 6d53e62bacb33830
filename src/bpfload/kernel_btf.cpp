#include "bpfload/kernel_btf.h"

#include <fcntl.h>
#include <linux/btf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "util/diag.h"
#include "util/fd.h"

namespace nscope {

// The raw bytes: a read-only private mapping of the file, or a copy in memory.
struct KernelBtf::Storage {
  void* map = nullptr;
  size_t map_len = 0;
  std::string copy;

  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (map && munmap(map, map_len) != 0)
      diag("cannot unmap the kernel's BTF: {}", std::strerror(errno));
  }
  std::string_view bytes() const {
    return map ? std::string_view(static_cast<const char*>(map), map_len) : std::string_view(copy);
  }
};

namespace {

// Typedef chains and nested anonymous members are short in real BTF (a few levels); the bound
// keeps a damaged file from looping.
constexpr int kMaxDepth = 16;

Error btf_error(std::string what) { return Error::msg("kernel BTF: " + std::move(what)); }

// Bytes a type record takes after its struct btf_type; -1 for a kind this reader does not know.
long extra_size(const btf_type* t) {
  uint32_t vlen = BTF_INFO_VLEN(t->info);
  switch (BTF_INFO_KIND(t->info)) {
    case BTF_KIND_INT: return sizeof(uint32_t);
    case BTF_KIND_ARRAY: return sizeof(btf_array);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return static_cast<long>(vlen * sizeof(btf_member));
    case BTF_KIND_ENUM: return static_cast<long>(vlen * sizeof(btf_enum));
    case BTF_KIND_FUNC_PROTO: return static_cast<long>(vlen * sizeof(btf_param));
    case BTF_KIND_VAR: return sizeof(btf_var);
    case BTF_KIND_DATASEC: return static_cast<long>(vlen * sizeof(btf_var_secinfo));
    case BTF_KIND_DECL_TAG: return sizeof(btf_decl_tag);
    case BTF_KIND_ENUM64: return static_cast<long>(vlen * sizeof(btf_enum64));
    case BTF_KIND_PTR:
    case BTF_KIND_FWD:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_FUNC:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPE_TAG: return 0;
    default: return -1;
  }
}

bool is_composite(const btf_type* t) {
  auto k = BTF_INFO_KIND(t->info);
  return k == BTF_KIND_STRUCT || k == BTF_KIND_UNION;
}

const btf_member* members(const btf_type* t) { return reinterpret_cast<const btf_member*>(t + 1); }

}  // namespace

Result<KernelBtf> KernelBtf::open(const std::string& path, const std::vector<std::string>& wanted) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::sys(errno, "cannot open " + path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Error::sys(errno, "cannot stat " + path);
  auto storage = std::make_shared<Storage>();
  size_t len = static_cast<size_t>(st.st_size);
  // sysfs maps the kernel's BTF since Linux 6.16; before, it must be read.
  void* m = len ? mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd.get(), 0) : MAP_FAILED;
  if (m != MAP_FAILED) {
    storage->map = m;
    storage->map_len = len;
  } else {
    storage->copy.resize(len ? len : 1 << 20);
    size_t used = 0;
    while (true) {
      if (used == storage->copy.size()) storage->copy.resize(storage->copy.size() * 2);
      ssize_t n = ::read(fd.get(), storage->copy.data() + used, storage->copy.size() - used);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::sys(errno, "cannot read " + path);
      }
      if (n == 0) break;
      used += static_cast<size_t>(n);
    }
    storage->copy.resize(used);
  }
  KernelBtf btf;
  btf.storage_ = std::move(storage);
  if (auto r = btf.index(wanted); !r) return Error::msg(path + ": " + r.error().message);
  return btf;
}

Result<KernelBtf> KernelBtf::parse(std::string_view raw, const std::vector<std::string>& wanted) {
  KernelBtf btf;
  btf.storage_ = std::make_shared<Storage>();
  btf.storage_->copy.assign(raw);
  if (auto r = btf.index(wanted); !r) return r.error();
  return btf;
}

Result<void> KernelBtf::index(const std::vector<std::string>& wanted) {
  std::string_view raw = storage_->bytes();
  btf_header h {};
  if (raw.size() < sizeof h) return btf_error("shorter than its header");
  std::memcpy(&h, raw.data(), sizeof h);
  if (h.magic != BTF_MAGIC) return btf_error("bad magic (not raw BTF, or other-endian)");
  if (h.version != BTF_VERSION) return btf_error("version " + std::to_string(h.version) + " unknown");
  if (h.hdr_len < sizeof h || h.hdr_len > raw.size()) return btf_error("bad header length");
  uint64_t body = raw.size() - h.hdr_len;
  if (uint64_t{h.type_off} + h.type_len > body || uint64_t{h.str_off} + h.str_len > body)
    return btf_error("sections past the end");
  if (h.type_off % 4 != 0) return btf_error("misaligned type section");
  if (h.str_len == 0 || raw[h.hdr_len + h.str_off + h.str_len - 1] != '\0')
    return btf_error("string section not terminated");
  types_ = raw.data() + h.hdr_len + h.type_off;
  strings_ = raw.data() + h.hdr_len + h.str_off;
  strings_len_ = h.str_len;

  std::unordered_set<std::string_view> want(wanted.begin(), wanted.end());
  offsets_.clear();
  offsets_.reserve(h.type_len / 16);
  named_.clear();
  uint32_t pos = 0;
  while (pos < h.type_len) {
    if (h.type_len - pos < sizeof(btf_type)) return btf_error("truncated type record");
    auto* t = reinterpret_cast<const btf_type*>(types_ + pos);
    long extra = extra_size(t);
    if (extra < 0)
      return btf_error("type kind " + std::to_string(BTF_INFO_KIND(t->info)) + " unknown to nscope");
    if (h.type_len - pos - sizeof(btf_type) < static_cast<uint64_t>(extra))
      return btf_error("truncated type record");
    offsets_.push_back(pos);
    if (is_composite(t) && t->name_off) {
      std::string_view n = name(t->name_off);
      if (want.count(n)) named_[std::string(n)].push_back(static_cast<uint32_t>(offsets_.size()));
    }
    pos += static_cast<uint32_t>(sizeof(btf_type) + static_cast<size_t>(extra));
  }
  return {};
}

const btf_type* KernelBtf::type(uint32_t id) const {
  if (id == 0 || id > offsets_.size()) return nullptr;
  return reinterpret_cast<const btf_type*>(types_ + offsets_[id - 1]);
}

std::string_view KernelBtf::name(uint32_t name_off) const {
  if (name_off >= strings_len_) return {};
  return std::string_view(strings_ + name_off);  // the section ends with a NUL
}

uint32_t KernelBtf::skip_modifiers(uint32_t id) const {
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    const btf_type* t = type(id);
    if (!t) return id;
    switch (BTF_INFO_KIND(t->info)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_CONST:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG: id = t->type; break;
      default: return id;
    }
  }
  return 0;
}

Result<uint32_t> KernelBtf::type_size(uint32_t id) const {
  uint64_t mult = 1;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    id = skip_modifiers(id);
    const btf_type* t = type(id);
    if (!t) return Error::msg("type id " + std::to_string(id) + " has no size");
    switch (BTF_INFO_KIND(t->info)) {
      case BTF_KIND_PTR: mult *= 8; return static_cast<uint32_t>(mult);
      case BTF_KIND_INT:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FLOAT:
        mult *= t->size;
        if (mult > UINT32_MAX) return Error::msg("type too large");
        return static_cast<uint32_t>(mult);
      case BTF_KIND_ARRAY: {
        btf_array a {};
        std::memcpy(&a, t + 1, sizeof a);
        mult *= a.nelems;
        if (mult > UINT32_MAX) return Error::msg("type too large");
        id = a.type;
        break;
      }
      default: return Error::msg("type id " + std::to_string(id) + " has no size");
    }
  }
  return Error::msg("type chain too deep");
}

std::optional<KernelBtf::Found> KernelBtf::find_member(uint32_t struct_id, std::string_view want,
                                                       int depth) const {
  const btf_type* t = type(struct_id);
  if (!t || !is_composite(t) || depth > kMaxDepth) return std::nullopt;
  const bool kflag = BTF_INFO_KFLAG(t->info);
  const btf_member* m = members(t);
  for (uint32_t i = 0; i < BTF_INFO_VLEN(t->info); ++i) {
    uint32_t bits = kflag ? BTF_MEMBER_BIT_OFFSET(m[i].offset) : m[i].offset;
    bool bitfield = (kflag && BTF_MEMBER_BITFIELD_SIZE(m[i].offset) != 0) || bits % 8 != 0;
    if (m[i].name_off != 0 && name(m[i].name_off) == want) return Found{bits / 8, m[i].type, bitfield};
    if (m[i].name_off == 0) {  // an anonymous struct or union: its members are ours
      uint32_t inner = skip_modifiers(m[i].type);
      const btf_type* it = type(inner);
      if (!it || !is_composite(it)) continue;
      if (auto f = find_member(inner, want, depth + 1)) return Found{bits / 8 + f->offset, f->type, f->bitfield};
    }
  }
  return std::nullopt;
}

Result<BtfMember> KernelBtf::member_of(uint32_t struct_id, std::string_view path) const {
  BtfMember out;
  uint32_t cur = struct_id;
  std::string_view rest = path;
  while (true) {
    size_t dot = rest.find('.');
    std::string_view part = rest.substr(0, dot);
    std::string_view done = path.substr(0, path.size() - rest.size() + part.size());
    const btf_type* t = type(cur);
    if (!t || !is_composite(t))
      return Error::msg(std::string(path.substr(0, path.size() - rest.size() - 1)) + " is no struct");
    auto f = find_member(cur, part, 0);
    if (!f) return Error::msg("no member " + std::string(done));
    if (f->bitfield) return Error::msg(std::string(done) + " is a bitfield");
    out.offset += f->offset;
    if (dot == std::string_view::npos) {
      auto size = type_size(f->type);
      if (!size) return Error::msg(std::string(done) + ": " + size.error().message);
      out.size = *size;
      return out;
    }
    cur = skip_modifiers(f->type);
    rest = rest.substr(dot + 1);
  }
}

Result<BtfMember> KernelBtf::member(std::string_view type_name, std::string_view path) const {
  auto it = named_.find(std::string(type_name));
  if (it == named_.end()) return btf_error("no struct " + std::string(type_name));
  std::optional<BtfMember> found;
  Error last;
  for (uint32_t id : it->second) {
    auto r = member_of(id, path);
    if (!r) {
      last = btf_error(std::string(type_name) + ": " + r.error().message);
      continue;
    }
    if (found && (found->offset != r->offset || found->size != r->size))
      return btf_error(std::string(type_name) + "." + std::string(path) +
                       ": the kernel's types of that name disagree");
    found = *r;
  }
  if (!found) return last;
  return *found;
}

Result<uint32_t> KernelBtf::size_of(std::string_view type_name) const {
  auto it = named_.find(std::string(type_name));
  if (it == named_.end()) return btf_error("no struct " + std::string(type_name));
  std::optional<uint32_t> size;
  for (uint32_t id : it->second) {
    uint32_t s = type(id)->size;
    if (size && *size != s)
      return btf_error("sizeof " + std::string(type_name) + ": the kernel's types of that name disagree");
    size = s;
  }
  return *size;
}

}  // namespace nscope
