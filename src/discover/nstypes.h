// The eight namespace types, their /proc/PID/ns names and CLONE_NEW* flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace nscope {

enum class NsType : uint8_t { net, mnt, pid, uts, ipc, user, cgroup, time };
inline constexpr int kNsTypeCount = 8;

std::string_view ns_type_name(NsType t);
std::optional<NsType> ns_type_from_name(std::string_view name);
std::optional<NsType> ns_type_from_clone_flag(uint64_t flag);
uint64_t ns_clone_flag(NsType t);
// "net,mnt" or "all" -> types; an unknown name returns nullopt and sets *bad to it.
std::optional<std::vector<NsType>> parse_ns_types(std::string_view list, std::string* bad);
std::string_view all_ns_type_names();

// The slots of nscope_task_rec.inum (enum nscope_ns_slot in nscope.h): the /proc/PID/ns link
// each is read from ("pid_for_children", ...) and the namespace type it holds.
std::string_view slot_link_name(int slot);
NsType slot_type(int slot);  // "net, mnt, pid, uts, ipc, user, cgroup, time"

}  // namespace nscope
