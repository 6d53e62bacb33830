#include "discover/mountinfo.h"

#include "util/strings.h"

namespace nscope {

std::vector<MountEntry> parse_mountinfo(std::string_view text, size_t* bad_lines) {
  std::vector<MountEntry> out;
  for (auto line : split(text, '\n')) {
    if (line.empty()) continue;
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    auto fields = split(line, ' ');
    size_t sep = 0;
    for (size_t i = 6; i < fields.size(); ++i)
      if (fields[i] == "-") {
        sep = i;
        break;
      }
    if (fields.size() < 7 || sep == 0 || sep + 1 >= fields.size()) {
      if (bad_lines) ++*bad_lines;
      continue;
    }
    MountEntry m;
    m.mount_id = parse_u64(fields[0]).value_or(0);
    m.root = unescape_octal(fields[3]);
    m.mount_point = unescape_octal(fields[4]);
    m.fstype = std::string(fields[sep + 1]);
    if (sep + 2 < fields.size()) m.source = unescape_octal(fields[sep + 2]);
    out.push_back(std::move(m));
  }
  return out;
}

bool parse_ns_link(std::string_view link, NsType* type, uint64_t* inode) {
  auto colon = link.find(":[");
  if (colon == std::string_view::npos || !link.ends_with(']')) return false;
  auto t = ns_type_from_name(link.substr(0, colon));
  // pid_for_children and time_for_children links read "pid:[…]" and "time:[…]".
  if (!t) return false;
  auto ino = parse_u64(link.substr(colon + 2, link.size() - colon - 3));
  if (!ino) return false;
  *type = *t;
  *inode = *ino;
  return true;
}

std::vector<NsfsMount> nsfs_mounts(std::string_view mountinfo_text) {
  std::vector<NsfsMount> out;
  for (auto& m : parse_mountinfo(mountinfo_text)) {
    if (m.fstype != "nsfs") continue;
    NsfsMount n;
    if (!parse_ns_link(m.root, &n.type, &n.inode)) continue;
    n.path = std::move(m.mount_point);
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace nscope
