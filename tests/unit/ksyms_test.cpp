#include "collect/ksyms.h"

#include <gtest/gtest.h>

using namespace nscope;

namespace {
constexpr const char* kText =
    "ffffffff81000000 T _stext\n"
    "ffffffff81a2b3c0 T ip_rcv\n"
    "ffffffff81a2b100 t ip_rcv_core\n"        // out of order, as modules' lines are
    "ffffffff81c00000 D init_net\n"           // data: not a frame
    "ffffffffc0a01000 t ovs_dp_upcall\t[openvswitch]\n"
    "0000000000000000 T hidden_by_kptr_restrict\n"
    "garbage line\n";
}  // namespace

TEST(KernelSymbols, NamesAnAddressWithItsOffsetAsRetisDoes) {
  KernelSymbols k = KernelSymbols::parse(kText);
  EXPECT_EQ(k.size(), 4u);  // code symbols with an address
  EXPECT_EQ(k.describe(0xffffffff81a2b3c0), "ip_rcv+0x0");
  EXPECT_EQ(k.describe(0xffffffff81a2b3c4), "ip_rcv+0x4");
  EXPECT_EQ(k.describe(0xffffffff81a2b120), "ip_rcv_core+0x20");
  EXPECT_EQ(k.describe(0xffffffffc0a01010), "ovs_dp_upcall+0x10");  // a module's, suffix dropped
  EXPECT_EQ(k.lookup(0xffffffff81a2b3c8).name, "ip_rcv");
  EXPECT_EQ(k.lookup(0xffffffff81a2b3c8).offset, 8u);
  EXPECT_EQ(k.describe(0x1000), "0x1000");  // below every symbol
  EXPECT_TRUE(k.lookup(0x1000).name.empty());
}

TEST(KernelSymbols, AllZeroAddressesAreNoSymbols) {
  KernelSymbols k = KernelSymbols::parse("0000000000000000 T ip_rcv\n0000000000000000 t x\n");
  EXPECT_EQ(k.size(), 0u);
}
