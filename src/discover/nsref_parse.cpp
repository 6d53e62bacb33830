// The syntax of namespace references, apart from their resolution (nsref.cpp), which opens
// files and scans the system: pure functions of the text, which the unit tests and the NSREF
// fuzzer (fuzz/fuzz_nsref.cpp) call as the commands do.
#include <cerrno>

#include <fmt/format.h>

#include "discover/nsref.h"
#include "util/strings.h"

namespace nscope {

std::string_view nsref_kind_name(NsRefKind k) {
  switch (k) {
    case NsRefKind::word: return "name";
    case NsRefKind::name: return "ip netns name";
    case NsRefKind::inode: return "inode";
    case NsRefKind::id: return "id";
    case NsRefKind::cookie: return "cookie";
    case NsRefKind::pid: return "pid";
    case NsRefKind::path: return "path";
    case NsRefKind::container: return "container";
  }
  return "?";
}

Result<NsRef> parse_nsref(std::string_view ref) {
  auto bad = [&](std::string why) {
    return nsref_error({NsRefError::invalid, fmt::format("invalid namespace reference '{}': {}", ref, why), {}});
  };
  if (ref.empty()) return bad("empty");
  NsRef r;
  if (ref.front() == '/' || ref.starts_with("./") || ref.starts_with("../")) {
    r.kind = NsRefKind::path;
    r.text = std::string(ref);
    return r;
  }
  auto colon = ref.find(':');
  if (colon != std::string_view::npos) {
    std::string_view key = ref.substr(0, colon), val = ref.substr(colon + 1);
    struct Num {
      std::string_view key;
      NsRefKind kind;
    };
    static constexpr Num nums[] = {{"inode", NsRefKind::inode}, {"ino", NsRefKind::inode},
                                   {"id", NsRefKind::id},       {"cookie", NsRefKind::cookie},
                                   {"pid", NsRefKind::pid}};
    for (auto& n : nums)
      if (key == n.key) {
        auto v = parse_u64(val);
        if (!v || *v == 0) return bad(fmt::format("'{}:' needs a positive decimal number", key));
        r.kind = n.kind;
        r.number = *v;
        return r;
      }
    if (key == "net") {  // "net:[4026531840]", as readlink shows an nsfs file
      if (val.size() > 2 && val.front() == '[' && val.back() == ']')
        if (auto v = parse_u64(val.substr(1, val.size() - 2)); v && *v) {
          r.kind = NsRefKind::inode;
          r.number = *v;
          return r;
        }
      return bad("expected net:[INODE]");
    }
    if (key == "netns" || key == "name" || key == "container" || key == "path") {
      if (val.empty()) return bad(fmt::format("'{}:' needs a value", key));
      r.kind = key == "container" ? NsRefKind::container : key == "path" ? NsRefKind::path : NsRefKind::name;
      r.text = std::string(val);
      return r;
    }
    // Anything else with a colon is taken as a word (a container name may hold one).
  }
  // No namespace has inode 0: "0" can only be a name (`ip netns add 0` is allowed).
  if (auto v = parse_u64(ref); v && *v && ref.find_first_not_of("0123456789") == std::string_view::npos) {
    r.kind = NsRefKind::inode;
    r.number = *v;
    r.text = std::string(ref);
    return r;
  }
  r.kind = NsRefKind::word;
  r.text = std::string(ref);
  return r;
}

Error nsref_error(const NsRefFailure& f) {
  std::string msg = f.message;
  if (!f.candidates.empty()) {
    msg += f.kind == NsRefError::ambiguous ? "; it matches:" : "; network namespaces here:";
    for (auto& c : f.candidates) msg += "\n  " + c;
  }
  int code = f.kind == NsRefError::invalid ? EINVAL : f.kind == NsRefError::ambiguous ? ENOTUNIQ : ENOENT;
  return Error{ErrorKind::usage, code, std::move(msg)};
}

std::optional<NsRefError> nsref_error_kind(const Error& e) {
  // Only errors built by nsref_error are usage errors with these codes.
  if (e.kind != ErrorKind::usage) return std::nullopt;
  if (e.code == ENOTUNIQ) return NsRefError::ambiguous;
  if (e.code == ENOENT) return NsRefError::unknown;
  if (e.code == EINVAL && e.message.starts_with("invalid namespace reference")) return NsRefError::invalid;
  return std::nullopt;
}

Result<NsRefList> parse_nsref_list(const std::vector<std::string>& items) {
  NsRefList out;
  bool seen = false;
  for (const auto& item : items)
    for (auto part : split(item, ',')) {
      part = trim(part);
      if (part.empty()) continue;
      bool exclude = part.front() == '!';
      if (seen && exclude != out.exclude)
        return Error::usage("give either namespaces to keep or namespaces to leave out "
                            "(!NSREF), not both");
      seen = true;
      out.exclude = exclude;
      if (exclude) part = trim(part.substr(1));
      auto ref = parse_nsref(part);
      if (!ref) return ref.error();
      out.refs.push_back(std::move(*ref));
    }
  return out;
}

}  // namespace nscope
