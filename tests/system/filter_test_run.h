// BPF_PROG_TEST_RUN fixtures for collect's filters. collect's programs cannot be test-run on a
// packet (tp_btf and kprobe programs have no test run; fentry's runs only bpf_fentry_test*),
// so bpf/filter_test.bpf.c calls the same filter stubs, patched the same way, from programs
// that can: a raw tracepoint for -f (the packet in a map) and a tc classifier for -m (a real
// sk_buff the kernel builds from the packet).
#pragma once

#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "bpfload/libbpf_log.h"
#include "filter/patch.h"
#include "filter_test.skel.h"
#include "nscope.h"

namespace nst {

// Loads one program of filter_test.bpf.c with `code` put into its stub; the other program is
// not loaded (each patched program must hold every stub given).
class FilterTestRun {
 public:
  enum class Stub { packet, meta };
  FilterTestRun(Stub stub, const std::vector<bpf_insn>& code) {
    EXPECT_TRUE(nscope::filter::register_filter_sections().ok());
    skel_ = filter_test::open();
    if (!skel_) {
      error_ = "cannot open filter_test";
      return;
    }
    bpf_program__set_autoload(skel_->progs.run_packet_filter, stub == Stub::packet);
    bpf_program__set_autoload(skel_->progs.run_meta_filter, stub == Stub::meta);
    nscope::filter::PatchScope patch(
        {{stub == Stub::packet ? NSCOPE_STUB_PACKET : NSCOPE_STUB_META, code}});
    nscope::libbpf_log_take();
    if (filter_test::load(skel_) != 0) error_ = "load failed: " + patch.error() + nscope::libbpf_log_take();
  }
  ~FilterTestRun() {
    if (skel_) filter_test::destroy(skel_);
  }
  FilterTestRun(const FilterTestRun&) = delete;
  FilterTestRun& operator=(const FilterTestRun&) = delete;

  bool ok() const { return skel_ && error_.empty(); }
  const std::string& error() const { return error_; }

  // -f: the stub's answer for `data`; `read`: how much of the packet the kernel copies for
  // the filter. Negative when the run itself failed.
  int packet(const uint8_t* data, uint32_t len, bool l2, uint32_t read = NSCOPE_FILTER_BYTES) {
    nscope_filter_test_input in{};
    in.caplen = std::min<uint32_t>(len, read);
    in.wirelen = len;
    in.is_l2 = l2;
    std::memcpy(in.data, data, in.caplen);
    uint32_t key = 0;
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.input), &key, &in, BPF_ANY) != 0) return -2;
    skel_->data->result = -1;
    uint64_t args[1] = {0};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof args);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.run_packet_filter), &opts) != 0)
      return -3;
    return skel_->data->result;
  }

  // -m: the stub's answer for the sk_buff the kernel makes of `frame` (an Ethernet frame of
  // at least 14 bytes, on the loopback device) with `skb`'s settable fields (mark, priority...).
  int meta(const std::vector<uint8_t>& frame, const __sk_buff& skb = {}) {
    skel_->data->meta_result = -1;
    __sk_buff ctx = skb;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                .data_size_in = static_cast<uint32_t>(frame.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof ctx);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.run_meta_filter), &opts) != 0)
      return -3;
    return skel_->data->meta_result;
  }

 private:
  filter_test* skel_ = nullptr;
  std::string error_;
};

}  // namespace nst
