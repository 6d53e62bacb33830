// libFuzzer target for NSREF, the namespace reference every command takes (show, exec,
// attach, pids, watch --netns, collect --netns): arbitrary text through parse_nsref and the
// --netns list parser, the pure halves of resolution (nothing here opens a file). Aborts on a
// crash, a sanitizer report, an error that is not the user's to fix, a number kind without
// a positive number, or a reference that does not read back the same from its canonical form.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "discover/nsref.h"

using namespace nscope;

namespace {

[[noreturn]] void fail(std::string_view ref, const char* why) {
  std::fprintf(stderr, "NSREF '%.*s': %s\n", static_cast<int>(ref.size()), ref.data(), why);
  std::abort();
}

// The form that names the same reference with its kind spelled out.
std::string canonical(const NsRef& r) {
  switch (r.kind) {
    case NsRefKind::word: return r.text;
    case NsRefKind::name: return "netns:" + r.text;
    case NsRefKind::inode: return "inode:" + std::to_string(r.number);
    case NsRefKind::id: return "id:" + std::to_string(r.number);
    case NsRefKind::cookie: return "cookie:" + std::to_string(r.number);
    case NsRefKind::pid: return "pid:" + std::to_string(r.number);
    case NsRefKind::path: return "path:" + r.text;
    case NsRefKind::container: return "container:" + r.text;
  }
  return {};
}

void one(std::string_view text) {
  auto r = parse_nsref(text);
  if (!r) {
    const Error& e = r.error();
    if (e.kind != ErrorKind::usage || e.code != EINVAL) fail(text, "error not a usage error");
    if (nsref_error_kind(e) != NsRefError::invalid) fail(text, "error not 'invalid'");
    return;
  }
  bool number = r->kind == NsRefKind::inode || r->kind == NsRefKind::id ||
                r->kind == NsRefKind::cookie || r->kind == NsRefKind::pid;
  if (number && r->number == 0) fail(text, "a number kind with number 0");
  if (!number && r->text.empty()) fail(text, "a text kind with no text");
  if (nsref_kind_name(r->kind) == "?") fail(text, "unnamed kind");
  auto again = parse_nsref(canonical(*r));
  if (!again) fail(text, "canonical form refused");
  if (again->kind != r->kind || again->number != r->number ||
      (!number && again->text != r->text))
    fail(text, "canonical form reads back differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  one(text);
  // The same text as --netns items, one per line (as repeated flags give them).
  std::vector<std::string> items;
  for (size_t start = 0; start <= size;) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = size;
    items.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  auto list = parse_nsref_list(items);
  if (!list && list.error().kind != ErrorKind::usage) fail(text, "list error not a usage error");
  if (list)
    for (const auto& ref : list->refs)
      if (canonical(ref).empty()) fail(text, "a list part with nothing in it");
  return 0;
}
