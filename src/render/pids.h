// Output of `nscope pids` and `nscope identify`: text and JSON of the same reports. Holders
// and namespaces are written with the fields `list --json` uses.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "discover/identify.h"
#include "discover/pids.h"

namespace nscope {

// pids: the pids one a line, as `ip netns pids` prints them.
void render_pids_plain(const PidsReport& r, std::ostream& out);
// pids -l: a table of every holder, KIND PID TID COMMAND DETAIL.
void render_pids_table(const PidsReport& r, bool header, std::ostream& out);
// {"namespace": {...as list --json...}, "pids": [...], "skipped", "source", "notes"}
nlohmann::json pids_to_json(const PidsReport& r);
// Pure: one holder's cells in the pids table.
std::vector<std::string> holder_row(const Holder& h);

// identify: a table of the target's namespaces, NS TYPE INITIAL NPROCS NSID NAME CONTAINER
// HOLDERS; TYPE is the /proc link's name (pid_for_children, ...).
void render_identify_table(const IdentifyReport& r, bool header, std::ostream& out);
// {"target": {...}, "namespaces": [{"link", ...as list --json...}], "skipped", "source", "notes"}
nlohmann::json identify_to_json(const IdentifyReport& r);

}  // namespace nscope
