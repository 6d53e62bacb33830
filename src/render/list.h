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
// The same text as list_to_json(r).dump(), a namespace at a time.
void write_list_json(const ScanResult& r, std::ostream& out);

// The pieces list is made of, for commands that show namespaces or holders the same way
// (pids, identify): one column's cell of a namespace ("-" when unknown), its HOLDERS summary
// ("pid:4711 mounts:2"), a holder and a namespace as list --json writes them.
std::string list_cell(const Namespace& n, std::string_view col);
std::string holder_summary(const Namespace& n);
nlohmann::json holder_to_json(const Holder& h);
nlohmann::json namespace_to_json(const Namespace& n);
// Rows of cells as columns padded to the widest cell, one space apart; the last column is
// not padded.
void render_columns(const std::vector<std::vector<std::string>>& rows, std::ostream& out);

// A namespace's container as list --json writes it, or null.
nlohmann::json container_json(const std::optional<Container>& c);

// A u64 as a JSON number, or a string above 2^53 where JavaScript would lose precision.
nlohmann::json json_u64(uint64_t v);

}  // namespace nscope
