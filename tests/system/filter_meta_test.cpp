// -m compiled by nscope and run by the kernel on a real struct sk_buff (BPF_PROG_TEST_RUN of a
// tc program, tests/system/filter_test_run.h): each expression must match exactly the
// buffers whose fields it names.
#include <unistd.h>

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <memory>

#include "filter/meta.h"
#include "filter_test_run.h"

namespace {

// A 98-byte IPv4 frame, as ping sends.
std::vector<uint8_t> frame() {
  std::vector<uint8_t> f(98, 0);
  f[12] = 0x08;  // ETH_P_IP
  f[14] = 0x45;
  f[17] = 84;  // total length
  f[23] = 1;   // ICMP
  return f;
}

struct Case {
  const char* expr;
  uint32_t mark;
  int want;
};

}  // namespace

TEST(FilterMetaTestRun, FieldsOfARealSkBuff) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::unique_ptr<btf, void (*)(btf*)> vmlinux(btf__load_vmlinux_btf(), btf__free);
  if (!vmlinux) GTEST_SKIP() << "no kernel BTF";
  const Case cases[] = {
      {"sk_buff.mark == 0x10", 0x10, 1},
      {"sk_buff.mark == 0x10", 0x11, 0},
      {"sk_buff.mark & 0xff == 0x10", 0x310, 1},
      {"not sk_buff.mark", 0, 1},
      {"sk_buff.mark", 0, 0},
      {"sk_buff.len == 98", 0, 1},  // a tc program sees the frame from its link header
      {"sk_buff.len < 98", 0, 0},
      {"sk_buff.mark == 7 and sk_buff.len > 60", 7, 1},
      {"sk_buff.mark == 7 or sk_buff.len > 1000", 8, 0},
      // Through a pointer: the test run puts the buffer on the loopback device.
      {"sk_buff.dev.name == \"lo\"", 0, 1},
      {"sk_buff.dev.name != \"lo\"", 0, 0},
      {"sk_buff.dev.ifindex == 1", 0, 1},
  };
  for (const Case& c : cases) {
    auto code = nscope::filter::compile_meta_filter(c.expr, vmlinux.get());
    ASSERT_TRUE(code.ok()) << c.expr << ": " << code.error().message;
    nst::FilterTestRun k(nst::FilterTestRun::Stub::meta, *code);
    ASSERT_TRUE(k.ok()) << c.expr << ": " << k.error();
    __sk_buff skb{};
    skb.mark = c.mark;
    EXPECT_EQ(k.meta(frame(), skb), c.want) << c.expr << " with mark " << c.mark;
  }
}
