// `nscope find` output, both of one FindResult: text for people (each namespace with a hit,
// then one line per hit under it) and JSON for programs (one array, an object per hit that
// names its namespace, so `jq '.[] | select(.type == "socket")'` needs nothing else).
// What goes to stderr (skipped namespaces, no match) is worded here too.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "topo/find.h"

namespace nscope {

void render_find_text(const FindResult& r, std::ostream& out);
nlohmann::json find_to_json(const FindResult& r);

// One line per reason a namespace could not be searched, naming each such namespace:
// "skipped 2 network namespaces (cannot enter network namespace: ...): netns 4026532281 (blue), ...".
std::vector<std::string> find_skip_notes(const FindResult& r);
// "no match for --addr 10.0.0.9 in 402 network namespaces".
std::string find_no_match_note(const FindResult& r);

}  // namespace nscope
