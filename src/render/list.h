// `nscope list` output: an lsns-like table with chosen columns, or one JSON document.
// Both render the same ScanResult.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "discover/model.h"

namespace nscope {

std::string_view list_column_names();  // for help and errors
// "NS,TYPE,..." (case-insensitive, "+COL" appends to the defaults) -> columns;
// an unknown one returns false and sets *bad.
bool parse_list_columns(std::string_view spec, std::vector<std::string>* cols, std::string* bad);
std::vector<std::string> default_list_columns();

void render_list_table(const ScanResult& r, const std::vector<std::string>& cols, bool header,
                       std::ostream& out);
nlohmann::json list_to_json(const ScanResult& r);

// A namespace's container as list --json writes it, or null.
nlohmann::json container_json(const std::optional<Container>& c);

// A u64 as a JSON number, or a string above 2^53 where JavaScript would lose precision.
nlohmann::json json_u64(uint64_t v);

}  // namespace nscope
