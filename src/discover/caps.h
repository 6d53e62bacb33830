// What this process may read of others' /proc entries, said in the words of capabilities:
// a refusal names the capability that is missing, or says that even it was not enough.
#pragma once

#include <string>

namespace nscope {

// Whether this process has CAP_SYS_PTRACE in its effective set (/proc/self/status CapEff).
bool have_cap_sys_ptrace();

// Why reading another process's /proc/PID/ns was refused: "another user's process needs
// CAP_SYS_PTRACE (run nscope as root)", or, with it, that something else refused.
std::string ptrace_refusal_reason();

}  // namespace nscope
