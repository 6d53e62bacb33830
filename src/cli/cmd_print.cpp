// `nscope print FILE`: a recorded event file (nscope's or Retis's) as text, the same lines
// `collect` prints live.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/event_files.h"
#include "events/format.h"

namespace nscope::cli {

namespace {

struct PrintArgs {
  std::string file;
  bool ethernet = false;
  bool utc = false;
  bool skip_bad = false;
};

int run_print(const PrintArgs& a) {
  auto reader = open_event_file(a.file, a.skip_bad);
  OutFile out("-");
  TextOptions opt;
  opt.ethernet = a.ethernet;
  opt.utc = a.utc;
  opt.names = &reader->startup().netns_names;
  while (const Event* e = next_event(*reader)) {
    if (reader->events() == 1 && a.utc && !reader->has_startup())
      std::cerr << "nscope: " << reader->name()
                << ": no startup line with the clock offset: --utc shows times since boot\n";
    opt.mono_to_utc_ns = reader->startup().mono_to_utc_ns;
    format_event_text(*e, opt, out.buf);
    // From a pipe, what was read is printed before waiting for more: `collect -o - | print -`
    // shows each event as it comes.
    if (reader->live() && reader->caught_up())
      out.flush();
    else
      out.maybe_flush();
  }
  out.close();
  return 0;
}

}  // namespace

Runner register_print(CLI::App& app) {
  auto a = std::make_shared<PrintArgs>();
  auto* c = app.add_subcommand("print", "Print a recorded event file (nscope's or Retis's) as text");
  c->add_option("FILE", a->file, "Event file from `nscope collect -o` or `retis collect -o` (- for stdin)")
      ->required();
  c->add_flag("-e,--ethernet", a->ethernet, "Print link-layer headers");
  c->add_flag("--utc", a->utc, "Print UTC wall-clock times instead of monotonic ns");
  c->add_flag("--skip-bad", a->skip_bad, "Skip malformed lines with a warning instead of stopping");
  return [a, c]() { return c->parsed() ? run_print(*a) : -1; };
}

}  // namespace nscope::cli
