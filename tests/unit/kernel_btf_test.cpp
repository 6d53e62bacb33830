#include "bpfload/kernel_btf.h"

#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <linux/btf.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "bpfload/nsiter.h"

using namespace nscope;

namespace {

struct BtfFree {
  void operator()(btf* b) const { btf__free(b); }
};
using BtfPtr = std::unique_ptr<btf, BtfFree>;

std::string raw_of(btf* b) {
  uint32_t size = 0;
  const void* data = btf__raw_data(b, &size);
  return data ? std::string(static_cast<const char*>(data), size) : std::string();
}

// A small kernel-like BTF, laid out as the kernel's own: members in anonymous unions and
// structs, a struct reached through a typedef, an array, a bitfield, a name used twice.
std::string fixture(bool second_ns_common_disagrees = false) {
  BtfPtr b(btf__new_empty());
  btf* t = b.get();
  int u32 = btf__add_int(t, "unsigned int", 4, 0);
  int u64 = btf__add_int(t, "long long unsigned int", 8, 0);
  int chr = btf__add_int(t, "char", 1, BTF_INT_SIGNED);
  int idx = btf__add_int(t, "int", 4, BTF_INT_SIGNED);

  // struct ns_common { u32 ns_type; unsigned int inum; union { struct { u64 ns_id; }; u64 rcu; }; };
  int inner = btf__add_struct(t, "", 8);
  btf__add_field(t, "ns_id", u64, 0, 0);
  int anon = btf__add_union(t, "", 8);
  btf__add_field(t, "", inner, 0, 0);
  btf__add_field(t, "rcu", u64, 0, 0);
  int ns_common = btf__add_struct(t, "ns_common", 16);
  btf__add_field(t, "ns_type", u32, 0, 0);
  btf__add_field(t, "inum", u32, 32, 0);
  btf__add_field(t, "", anon, 64, 0);

  // struct net { u64 cookie; struct ns_common ns; struct net *self; };
  int net = btf__add_struct(t, "net", 32);
  btf__add_field(t, "net_cookie", u64, 0, 0);
  btf__add_field(t, "ns", ns_common, 64, 0);
  int net_ptr = btf__add_ptr(t, net);
  btf__add_field(t, "self", net_ptr, 192, 0);

  // typedef struct { struct net *net; } possible_net_t;  struct sock_common { possible_net_t skc_net; };
  int pnet = btf__add_struct(t, "", 8);
  btf__add_field(t, "net", net_ptr, 0, 0);
  int pnet_t = btf__add_typedef(t, "possible_net_t", pnet);
  int cpnet = btf__add_const(t, pnet_t);
  int skc = btf__add_struct(t, "sock_common", 8);
  btf__add_field(t, "skc_net", cpnet, 0, 0);
  int sock = btf__add_struct(t, "sock", 24);
  btf__add_field(t, "pad", u64, 0, 0);
  btf__add_field(t, "__sk_common", skc, 64, 0);
  btf__add_field(t, "flags", u32, 128, 3);  // a 3-bit bitfield at bit 128

  // struct task_struct { int pid; char comm[16]; };
  int comm = btf__add_array(t, idx, chr, 16);
  int task = btf__add_struct(t, "task_struct", 20);
  btf__add_field(t, "pid", idx, 0, 0);
  btf__add_field(t, "comm", comm, 32, 0);

  // A second struct ns_common, as a kernel built from several units may carry.
  int again = btf__add_struct(t, "ns_common", 16);
  btf__add_field(t, "inum", u32, second_ns_common_disagrees ? 64 : 32, 0);
  (void)again;
  (void)sock;
  (void)task;
  return raw_of(t);
}

const std::vector<std::string> kWanted{"ns_common", "net", "sock", "task_struct"};

}  // namespace

TEST(KernelBtf, FindsMembersThroughAnonymousUnionsTypedefsAndStructs) {
  auto k = KernelBtf::parse(fixture(), kWanted);
  ASSERT_TRUE(k) << k.error().message;
  auto inum = k->member("ns_common", "inum");
  ASSERT_TRUE(inum) << inum.error().message;
  EXPECT_EQ(inum->offset, 4u);
  EXPECT_EQ(inum->size, 4u);
  auto id = k->member("ns_common", "ns_id");  // inside union { struct { ... } }
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(id->offset, 8u);
  EXPECT_EQ(id->size, 8u);
  auto net_inum = k->member("net", "ns.inum");
  ASSERT_TRUE(net_inum) << net_inum.error().message;
  EXPECT_EQ(net_inum->offset, 8u + 4u);
  auto ns = k->member("net", "ns");
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->offset, 8u);
  EXPECT_EQ(ns->size, 16u);
  auto skc = k->member("sock", "__sk_common.skc_net.net");  // const typedef of a struct
  ASSERT_TRUE(skc) << skc.error().message;
  EXPECT_EQ(skc->offset, 8u);
  EXPECT_EQ(skc->size, 8u);  // a pointer
  auto comm = k->member("task_struct", "comm");
  ASSERT_TRUE(comm);
  EXPECT_EQ(comm->offset, 4u);
  EXPECT_EQ(comm->size, 16u);
  auto size = k->size_of("net");
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 32u);
}

TEST(KernelBtf, SaysWhatIsMissingOrUnreadable) {
  auto k = KernelBtf::parse(fixture(), kWanted);
  ASSERT_TRUE(k);
  auto nope = k->member("net", "ns.nope");
  ASSERT_FALSE(nope);
  EXPECT_EQ(nope.error().message, "kernel BTF: net: no member ns.nope");
  auto deeper = k->member("net", "net_cookie.x");
  ASSERT_FALSE(deeper);
  EXPECT_EQ(deeper.error().message, "kernel BTF: net: net_cookie is no struct");
  auto bits = k->member("sock", "flags");
  ASSERT_FALSE(bits);
  EXPECT_EQ(bits.error().message, "kernel BTF: sock: flags is a bitfield");
  auto unasked = k->member("file", "f_inode");  // not in `wanted`: never indexed
  ASSERT_FALSE(unasked);
  EXPECT_EQ(unasked.error().message, "kernel BTF: no struct file");
}

TEST(KernelBtf, TypesOfTheSameNameMustAgree) {
  auto agree = KernelBtf::parse(fixture(false), kWanted);
  ASSERT_TRUE(agree);
  auto inum = agree->member("ns_common", "inum");
  ASSERT_TRUE(inum) << inum.error().message;
  EXPECT_EQ(inum->offset, 4u);
  // The second ns_common has no ns_id: the first one answers alone.
  EXPECT_TRUE(agree->member("ns_common", "ns_id"));

  auto disagree = KernelBtf::parse(fixture(true), kWanted);
  ASSERT_TRUE(disagree);
  auto bad = disagree->member("ns_common", "inum");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "kernel BTF: ns_common.inum: the kernel's types of that name disagree");
}

TEST(KernelBtf, RefusesDamagedInputWithoutReadingPastIt) {
  std::string raw = fixture();
  for (size_t len = 0; len < raw.size(); ++len) {
    auto k = KernelBtf::parse(std::string_view(raw).substr(0, len), kWanted);
    if (k) {  // a cut inside the strings can still parse; lookups then must stay in bounds
      (void)k->member("net", "ns.inum");
      (void)k->member("sock", "__sk_common.skc_net.net");
    }
  }
  std::string bad_magic = raw;
  bad_magic[0] ^= 0x55;
  auto m = KernelBtf::parse(bad_magic, kWanted);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message, "kernel BTF: bad magic (not raw BTF, or other-endian)");
  // Type ids past the end, in every member: lookups fail, nothing crashes.
  std::string ids = raw;
  btf_header h {};
  std::memcpy(&h, ids.data(), sizeof h);
  for (size_t at = h.hdr_len + h.type_off; at + 4 <= h.hdr_len + h.type_off + h.type_len; at += 4) {
    std::string copy = ids;
    uint32_t huge = 0x7fffffff;
    std::memcpy(copy.data() + at, &huge, 4);
    auto k = KernelBtf::parse(copy, kWanted);
    if (k) {
      (void)k->member("net", "ns.inum");
      (void)k->member("ns_common", "ns_id");
      (void)k->size_of("net");
    }
  }
}

TEST(KernelBtf, MissingFileSaysWhich) {
  auto k = KernelBtf::open("/nonexistent/btf", kWanted);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message, "cannot open /nonexistent/btf: No such file or directory");
}

// The running kernel's BTF: every field the iterators read is found, where libbpf finds it.
TEST(KernelBtf, RunningKernelAgreesWithLibbpf) {
  const char* path = "/sys/kernel/btf/vmlinux";
  if (access(path, R_OK) != 0) GTEST_SKIP() << path << " is not readable here";
  auto off = nsiter_offsets(path);
  ASSERT_TRUE(off) << off.error().message;
  BtfPtr vmlinux(btf__parse(path, nullptr));
  ASSERT_TRUE(vmlinux);
  auto libbpf_offset = [&](const char* type, const char* field) -> long {
    int id = btf__find_by_name_kind(vmlinux.get(), type, BTF_KIND_STRUCT);
    if (id < 0) return -1;
    const btf_type* t = btf__type_by_id(vmlinux.get(), id);
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i)
      if (std::string(btf__name_by_offset(vmlinux.get(), m[i].name_off)) == field)
        return btf_member_bit_offset(t, i) / 8;
    return -1;
  };
  EXPECT_EQ(off->task_tgid, libbpf_offset("task_struct", "tgid"));
  EXPECT_EQ(off->task_nsproxy, libbpf_offset("task_struct", "nsproxy"));
  EXPECT_EQ(off->nsproxy_net, libbpf_offset("nsproxy", "net_ns"));
  EXPECT_EQ(off->net_ns, libbpf_offset("net", "ns"));
  EXPECT_EQ(off->ns_inum, libbpf_offset("ns_common", "inum"));
  EXPECT_EQ(off->net_cookie, libbpf_offset("net", "net_cookie"));
  EXPECT_EQ(off->dev_ifindex, libbpf_offset("net_device", "ifindex"));
  EXPECT_EQ(off->file_inode, libbpf_offset("file", "f_inode"));
  int upid = btf__find_by_name_kind(vmlinux.get(), "upid", BTF_KIND_STRUCT);
  ASSERT_GT(upid, 0);
  EXPECT_EQ(off->upid_size, btf__type_by_id(vmlinux.get(), upid)->size);
}
