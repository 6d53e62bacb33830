// A fast path for parse_event_line: a hand-written JSON scanner for the event objects
// nscope and Retis write, about ten times faster than building a DOM. It accepts only what
// it fully understands (plain integers, strings without escapes, the usual shapes of each
// section) and hands every other line to parse_event_line, so both give the same Event for
// every input: the fuzzer and the unit tests hold them to that.
#pragma once

#include <string_view>

#include "events/reader.h"

namespace nscope {

// Same contract as parse_event_line.
Result<LineKind> parse_event_line_fast(std::string_view line, SymbolTable& symbols, Event& e,
                                       StartupInfo* startup);

// The scanner alone: true when it parsed `line` as an event by itself, false when the line
// needs parse_event_line (startup and stats lines, escapes, unusual types, bad JSON). On
// false `e` holds garbage. For tests and the fuzzer.
bool try_parse_event_fast(std::string_view line, SymbolTable& symbols, Event& e);

}  // namespace nscope
