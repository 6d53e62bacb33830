#include "discover/nstypes.h"

#include <sched.h>

#include <array>
#include <string>

#include "nscope.h"
#include "util/strings.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace nscope {
namespace {
struct TypeInfo {
  NsType type;
  std::string_view name;
  uint64_t flag;
};
constexpr std::array<TypeInfo, kNsTypeCount> kTypes{{
    {NsType::net, "net", CLONE_NEWNET},
    {NsType::mnt, "mnt", CLONE_NEWNS},
    {NsType::pid, "pid", CLONE_NEWPID},
    {NsType::uts, "uts", CLONE_NEWUTS},
    {NsType::ipc, "ipc", CLONE_NEWIPC},
    {NsType::user, "user", CLONE_NEWUSER},
    {NsType::cgroup, "cgroup", CLONE_NEWCGROUP},
    {NsType::time, "time", CLONE_NEWTIME},
}};
constexpr std::array<std::string_view, NSCOPE_SLOT_COUNT> kSlotLinks{
    "net", "mnt", "pid", "uts", "ipc", "user", "cgroup", "time", "pid_for_children",
    "time_for_children"};
constexpr std::array<NsType, NSCOPE_SLOT_COUNT> kSlotTypes{
    NsType::net, NsType::mnt,    NsType::pid,  NsType::uts, NsType::ipc,
    NsType::user, NsType::cgroup, NsType::time, NsType::pid, NsType::time};
}  // namespace

std::string_view slot_link_name(int slot) { return kSlotLinks[static_cast<size_t>(slot)]; }
NsType slot_type(int slot) { return kSlotTypes[static_cast<size_t>(slot)]; }

std::string_view ns_type_name(NsType t) { return kTypes[static_cast<size_t>(t)].name; }
uint64_t ns_clone_flag(NsType t) { return kTypes[static_cast<size_t>(t)].flag; }

std::optional<NsType> ns_type_from_name(std::string_view name) {
  for (const auto& ti : kTypes)
    if (ti.name == name) return ti.type;
  return std::nullopt;
}

std::optional<NsType> ns_type_from_clone_flag(uint64_t flag) {
  for (const auto& ti : kTypes)
    if (ti.flag == flag) return ti.type;
  return std::nullopt;
}

std::string_view all_ns_type_names() { return "net, mnt, pid, uts, ipc, user, cgroup, time"; }

std::optional<std::vector<NsType>> parse_ns_types(std::string_view list, std::string* bad) {
  std::vector<NsType> out;
  bool seen[kNsTypeCount] = {};
  for (auto part : split(list, ',')) {
    part = trim(part);
    if (part == "all") {
      for (const auto& ti : kTypes)
        if (!seen[static_cast<size_t>(ti.type)]) {
          seen[static_cast<size_t>(ti.type)] = true;
          out.push_back(ti.type);
        }
      continue;
    }
    auto t = ns_type_from_name(part);
    if (!t) {
      if (bad) *bad = std::string(part);
      return std::nullopt;
    }
    if (!seen[static_cast<size_t>(*t)]) {
      seen[static_cast<size_t>(*t)] = true;
      out.push_back(*t);
    }
  }
  return out;
}

}  // namespace nscope
