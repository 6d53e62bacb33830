// libFuzzer target for the /proc and mountinfo parsers of src/discover: arbitrary text as a
// /proc/PID/mountinfo (every mount, and the nsfs bind mounts that pin namespaces), as the
// target of a /proc/PID/ns link or an nsfs fd ("net:[4026531840]"), as a /proc/PID/cgroup
// (which container a process is in), as a /proc/PID/cmdline, and as an `ip netns` name that
// may be OpenStack's. Any crash or sanitizer report aborts; what the parsers keep must be
// consistent with the text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "discover/container.h"
#include "discover/mountinfo.h"
#include "discover/nstypes.h"
#include "util/strings.h"

using namespace nscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  size_t bad = 0;
  auto mounts = parse_mountinfo(text, &bad);
  size_t lines = 0;
  for (auto l : split(text, '\n')) lines += !l.empty();
  if (mounts.size() + bad != lines) std::abort();  // each line kept or counted
  for (const auto& n : nsfs_mounts(text)) {
    if (n.path.size() > size) std::abort();  // escapes only ever shorten
    (void)ns_type_name(n.type);
  }

  NsType t;
  uint64_t ino;
  if (parse_ns_link(text, &t, &ino)) {
    // What parses names its type and ends in "]".
    if (!text.starts_with(ns_type_name(t)) || text.back() != ']') std::abort();
  }

  if (auto c = container_from_cgroup(text)) {
    if (c->runtime.empty()) std::abort();
    (void)container_label(*c), (void)short_container_id(c->id);
  }
  if (auto c = ContainerResolver::from_netns_name(text)) (void)container_label(*c);

  std::string why;
  (void)parse_ns_types(text, &why);
  (void)cmdline_to_string(text);
  return 0;
}
