// `nscope print FILE`: a recorded event file (nscope's or Retis's) as text, the same lines
// `collect` prints live.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/event_files.h"
#include "events/format.h"
#include "events/retis_text.h"

namespace nscope::cli {

namespace {

struct PrintArgs {
  std::string file;
  bool ethernet = false;
  bool utc = false;
  bool skip_bad = false;
  std::string format = "nscope";
};

int run_print(const PrintArgs& a) {
  auto reader = open_event_file(a.file, a.skip_bad);
  OutFile out("-");
  TextOptions opt;
  opt.ethernet = a.ethernet;
  opt.utc = a.utc;
  opt.names = &reader->startup().netns_names;
  opt.retis = a.format == "retis";
  bool in_series = false;  // the last event printed belongs to a series (a sorted file)
  while (const Event* e = next_event(*reader)) {
    if (reader->events() == 1 && a.utc && !reader->has_startup())
      std::cerr << "nscope: " << reader->name()
                << ": no startup line with the clock offset: --utc shows times since boot\n";
    opt.mono_to_utc_ns = reader->startup().mono_to_utc_ns;
    opt.has_offset = reader->has_startup() && opt.mono_to_utc_ns != 0;
    if (!e->has_series_idx) {
      if (in_series && opt.retis) out.buf += '\n';
      in_series = false;
      format_event_text(*e, opt, out.buf);
    } else if (opt.retis) {
      // As `retis print` shows a sorted file: followers indented under "↳", an empty line
      // after each series.
      if (e->series_first && in_series) out.buf += '\n';
      RetisTextOptions r{opt.ethernet, opt.utc, opt.has_offset, opt.mono_to_utc_ns};
      format_event_retis(*e, r, out.buf, !e->series_first);
      out.buf += '\n';
      in_series = true;
    } else {
      if (e->series_first && in_series) out.buf += '\n';
      format_series_member_text(*e, opt, !e->series_first, e->series_idx, false, out.buf);
      in_series = true;
    }
    // From a pipe, what was read is printed before waiting for more: `collect -o - | print -`
    // shows each event as it comes.
    if (reader->live() && reader->caught_up())
      out.flush();
    else
      out.maybe_flush();
  }
  if (in_series) out.buf += '\n';
  out.close();
  return 0;
}

}  // namespace

Runner register_print(CLI::App& app) {
  auto a = std::make_shared<PrintArgs>();
  auto* c = app.add_subcommand("print", "Print a recorded event file (nscope's or Retis's) as text");
  add_event_file_options(c, a->file, a->skip_bad);
  add_text_options(c, a->ethernet, a->utc, a->format,
                   "nscope (the default: the namespace on its own line) or retis (exactly as "
                   "`retis print` shows events)");
  return [a, c]() { return c->parsed() ? run_print(*a) : -1; };
}

}  // namespace nscope::cli
