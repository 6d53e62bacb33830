// Interned probe names: events hold string_views into this table, so copying and sorting
// events never copies names.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace nscope {

class SymbolTable {
 public:
  std::string_view intern(std::string_view s) {
    auto it = set_.find(s);
    if (it != set_.end()) return *it;
    store_.emplace_back(s);
    return *set_.insert(store_.back()).first;
  }

 private:
  std::deque<std::string> store_;  // stable addresses
  std::unordered_set<std::string_view> set_;
};

}  // namespace nscope
