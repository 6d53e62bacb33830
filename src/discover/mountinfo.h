// /proc/PID/mountinfo, parsed from text so tests can feed fixtures.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "discover/nstypes.h"

namespace nscope {

struct MountEntry {
  uint64_t mount_id = 0;
  std::string root;         // field 4: "net:[4026532281]" for an nsfs bind mount
  std::string mount_point;  // field 5, octal escapes undone
  std::string fstype;       // after the " - " separator
  std::string source;
};

// Malformed lines are skipped and counted in *bad_lines (when given).
std::vector<MountEntry> parse_mountinfo(std::string_view text, size_t* bad_lines = nullptr);

struct NsfsMount {
  NsType type;
  uint64_t inode;
  std::string path;
};
// Only the nsfs bind mounts, with the namespace each pins.
std::vector<NsfsMount> nsfs_mounts(std::string_view mountinfo_text);

// "net:[4026531840]" -> (net, 4026531840); also the "net:[…]" form readlink gives for
// /proc/PID/ns/* and for nsfs fds.
bool parse_ns_link(std::string_view link, NsType* type, uint64_t* inode);

}  // namespace nscope
