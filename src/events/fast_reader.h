// A fast path for parse_event_line: a hand-written JSON scanner for the event objects
// nscope and Retis write, about ten times faster than building a DOM. It accepts only what
// it fully understands (plain integers, strings without escapes, the usual shapes of each
// section) and hands every other line to parse_event_line, so both give the same Event for
// every input: the fuzzer and the unit tests hold them to that.
#pragma once

#include <memory>
#include <vector>
#include <string_view>

#include "events/reader.h"

namespace nscope {

// The parser with the state it keeps between lines (a scratch buffer, a cache of interned
// names): one per reader. `symbols` must outlive it.
class FastEventParser {
 public:
  explicit FastEventParser(SymbolTable& symbols);
  ~FastEventParser();
  FastEventParser(const FastEventParser&) = delete;
  FastEventParser& operator=(const FastEventParser&) = delete;

  // Same contract as parse_event_line.
  Result<LineKind> parse(std::string_view line, Event& e, StartupInfo* startup);
  // Where skipped sections are counted and a series line's events go (either may be null).
  void set_outputs(SkippedFields* skipped, std::vector<Event>* series);
  // The scanner alone: true when it parsed `line` as an event by itself, false when the line
  // needs parse_event_line (startup and stats lines, escapes, unusual types, bad JSON). On
  // false `e` holds garbage.
  bool try_event(std::string_view line, Event& e);

  // parse() without the copy, for a caller that keeps lines in a buffer of its own:
  // line.data()[line.size()] must be NUL and padding() more bytes readable after it.
  Result<LineKind> parse_padded(std::string_view line, Event& e, StartupInfo* startup);
  static size_t padding();

 private:
  bool scan(const char* line, size_t n, Event& e);

 public:
  struct State;

 private:
  std::unique_ptr<State> st_;
};

// One-off forms of the above (a fresh parser each call: for tests and the fuzzer).
Result<LineKind> parse_event_line_fast(std::string_view line, SymbolTable& symbols, Event& e,
                                       StartupInfo* startup);

bool try_parse_event_fast(std::string_view line, SymbolTable& symbols, Event& e);

}  // namespace nscope
