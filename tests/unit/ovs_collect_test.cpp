// The ovs collector without a kernel: its tracepoints and action names read
// from BTF made here as the openvswitch module's has them, the decoding of its
// BPF records, and sort's link from an upcall that carries a queue id to the
// execution of the packet sent back.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "collect/decode.h"
#include "collect/ovs_probes.h"
#include "collect/plan.h"
#include "events/sort.h"

using namespace nscope;

namespace {

using BtfPtr = std::unique_ptr<btf, void (*)(btf*)>;

// The module's BTF as far as the collector reads it: the two tracepoints'
// prototypes (with the tracepoint's private `void *__data` first) and enum
// ovs_action_attr as in Linux 6.1.
BtfPtr module_btf(bool with_upcall_info = true) {
  BtfPtr b(btf__new_empty(), btf__free);
  int void_ptr = btf__add_ptr(b.get(), 0);
  auto ptr_to = [&](const char* sname) {
    int s = btf__add_struct(b.get(), sname, 8);
    return btf__add_ptr(b.get(), s);
  };
  int dp = ptr_to("datapath"), skb = ptr_to("sk_buff"), key = ptr_to("sw_flow_key");
  int info = ptr_to(with_upcall_info ? "dp_upcall_info" : "something_else");
  int attr = ptr_to("nlattr");
  int i32 = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  auto tracepoint = [&](const char* name, std::vector<int> args) {
    int proto = btf__add_func_proto(b.get(), 0);
    btf__add_func_param(b.get(), "__data", void_ptr);
    for (int a : args) btf__add_func_param(b.get(), "", a);
    btf__add_typedef(b.get(), (std::string("btf_trace_") + name).c_str(),
                     btf__add_ptr(b.get(), proto));
  };
  tracepoint("ovs_dp_upcall", {dp, skb, key, info});
  tracepoint("ovs_do_execute_action", {dp, skb, key, attr, i32});
  btf__add_enum(b.get(), "ovs_action_attr", 4);
  const char* names[] = {"UNSPEC",   "OUTPUT",        "USERSPACE", "SET",     "PUSH_VLAN",
                         "POP_VLAN", "SAMPLE",        "RECIRC",    "HASH",    "PUSH_MPLS",
                         "POP_MPLS", "SET_MASKED",    "CT",        "TRUNC",   "PUSH_ETH",
                         "POP_ETH",  "CT_CLEAR",      "PUSH_NSH",  "POP_NSH", "METER",
                         "CLONE",    "CHECK_PKT_LEN", "ADD_MPLS",  "DEC_TTL"};
  int v = 0;
  for (const char* n : names)
    btf__add_enum_value(b.get(), (std::string("OVS_ACTION_ATTR_") + n).c_str(), v++);
  btf__add_enum_value(b.get(), "__OVS_ACTION_ATTR_MAX", v++);
  btf__add_enum_value(b.get(), "OVS_ACTION_ATTR_SET_TO_MASKED", v++);
  return b;
}

}  // namespace

TEST(OvsCollect, ActionNamesAreRetis) {
  EXPECT_EQ(ovs_action_name("OVS_ACTION_ATTR_OUTPUT"), "output");
  EXPECT_EQ(ovs_action_name("OVS_ACTION_ATTR_CHECK_PKT_LEN"), "check_pkt_len");
  EXPECT_EQ(ovs_action_name("OVS_ACTION_ATTR_SET_TO_MASKED"), "set_masked");
  EXPECT_EQ(ovs_action_name("OVS_ACTION_ATTR_UNSPEC"), "");
  EXPECT_EQ(ovs_action_name("__OVS_ACTION_ATTR_MAX"), "");
}

TEST(OvsCollect, TracepointsAndTheirArgumentsFromTheModulesBtf) {
  auto b = module_btf();
  auto ovs = ovs_probes_from(b.get());
  ASSERT_TRUE(ovs.ok()) << ovs.error().message;
  ASSERT_EQ(ovs->probes.size(), 2u);
  const ProbeSpec& up = ovs->probes[0];
  EXPECT_EQ(up.symbol(), "openvswitch:ovs_dp_upcall");
  EXPECT_EQ(up.cfg.ovs_point, NSCOPE_OVS_UPCALL);
  EXPECT_EQ(up.cfg.skb_arg, 1);
  EXPECT_EQ(up.cfg.upcall_arg, 3);
  const ProbeSpec& ex = ovs->probes[1];
  EXPECT_EQ(ex.symbol(), "openvswitch:ovs_do_execute_action");
  EXPECT_EQ(ex.cfg.ovs_point, NSCOPE_OVS_EXECUTE);
  EXPECT_EQ(ex.cfg.skb_arg, 1);
  EXPECT_EQ(ex.cfg.key_arg, 2);
  EXPECT_EQ(ex.cfg.attr_arg, 3);
  ASSERT_EQ(ovs->actions.size(), 26u);
  EXPECT_EQ(ovs->actions[1], "output");
  EXPECT_EQ(ovs->actions[7], "recirc");
  EXPECT_EQ(ovs->actions[12], "ct");
  EXPECT_EQ(ovs->actions[24], "") << "__OVS_ACTION_ATTR_MAX";
  EXPECT_EQ(ovs->actions[25], "set_masked") << "the module's own SET_TO_MASKED";
}

TEST(OvsCollect, ArgumentsItDoesNotKnowAreAnErrorNotAGuess) {
  auto b = module_btf(false);
  auto ovs = ovs_probes_from(b.get());
  ASSERT_FALSE(ovs.ok());
  EXPECT_NE(ovs.error().message.find("ovs_dp_upcall"), std::string::npos) << ovs.error().message;
  BtfPtr empty(btf__new_empty(), btf__free);
  auto none = ovs_probes_from(empty.get());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::not_found);
}

TEST(OvsCollect, ProbesNamedWithDashPGetTheCollectorsLayoutOnce) {
  auto b = module_btf();
  auto ovs = ovs_probes_from(b.get());
  ASSERT_TRUE(ovs.ok());
  std::vector<ProbeSpec> probes(1);
  probes[0].group = "openvswitch";
  probes[0].name = "ovs_dp_upcall";
  add_ovs_probes(probes, ovs->probes);
  ASSERT_EQ(probes.size(), 2u);
  EXPECT_EQ(probes[0].cfg.ovs_point, NSCOPE_OVS_UPCALL);
  EXPECT_EQ(probes[1].name, "ovs_do_execute_action");
}

TEST(OvsCollect, RecordsDecodeIntoRetisEventTypes) {
  DecodeContext ctx;
  ctx.collectors |= NSCOPE_COLLECT_TRACK | NSCOPE_COLLECT_OVS;
  ctx.ovs_actions = {"", "output", "userspace", "set", "push_vlan", "pop_vlan", "sample", "recirc"};
  struct {
    nscope_event ev;
    nscope_ovs_ext ovs;
  } rec{};
  rec.ev.cpu = 3;
  rec.ev.flags = NSCOPE_EV_HAS_OVS;
  rec.ovs.point = NSCOPE_OVS_UPCALL;
  rec.ovs.cmd = 1;
  rec.ovs.port = 2615488301u;
  rec.ovs.queue_id = 77;
  rec.ovs.flags = NSCOPE_OVS_HAS_QUEUE;
  Event e;
  decode_record(&rec, sizeof rec, ctx, e);
  EXPECT_EQ(e.ovs.kind, OvsKind::upcall);
  EXPECT_EQ(e.ovs.cmd, 1);
  EXPECT_EQ(e.ovs.port, 2615488301u);
  EXPECT_EQ(e.ovs.cpu, 3u);
  EXPECT_TRUE(e.ovs.has_queue_id);
  EXPECT_EQ(e.ovs.queue_id, 77u);
  EXPECT_TRUE(e.has_rare) << "the ovs section is in the event's tail";

  rec.ovs = {};
  rec.ovs.point = NSCOPE_OVS_EXECUTE;
  rec.ovs.action = 7;
  rec.ovs.action_arg = 0x2a;
  rec.ovs.recirc_id = 5;
  decode_record(&rec, sizeof rec, ctx, e);
  EXPECT_EQ(e.ovs.kind, OvsKind::action_execute);
  EXPECT_EQ(e.ovs.action, "recirc");
  EXPECT_EQ(e.ovs.action_arg, 0x2au);
  EXPECT_EQ(e.ovs.recirc_id, 5u);
  EXPECT_FALSE(e.ovs.has_queue_id);

  rec.ovs.action = 200;  // an action this kernel's enum does not name
  decode_record(&rec, sizeof rec, ctx, e);
  EXPECT_EQ(e.ovs.action, "");

  rec.ev.flags = 0;  // a packet event after it: no ovs section left over
  decode_record(&rec, sizeof rec, ctx, e);
  EXPECT_EQ(e.ovs.kind, OvsKind::none);
  EXPECT_FALSE(e.has_rare);
}

TEST(OvsCollect, SortLinksAnUpcallsQueueIdToTheExecutionOfThePacketSentBack) {
  OvsLinker linker;
  Event up;
  up.ts = 100;
  up.has_tracking = true;
  up.track_ts = 90;
  up.orig_head = 0xffff888000001000ull;
  up.ovs.kind = OvsKind::upcall;
  up.ovs.cpu = 1;
  up.ovs.has_queue_id = true;
  up.ovs.queue_id = 3118166359u;
  EXPECT_FALSE(linker.link(up)) << "the upcall is its own packet's";

  Event exec;  // the new skb ovs-vswitchd sent back
  exec.ts = 200;
  exec.has_tracking = true;
  exec.track_ts = 200;
  exec.orig_head = 0xffff888000002000ull;
  exec.ovs.kind = OvsKind::action_execute;
  exec.ovs.has_queue_id = true;
  exec.ovs.queue_id = 3118166359u;
  ASSERT_TRUE(linker.link(exec));
  EXPECT_EQ(exec.track_ts, 90u);
  EXPECT_EQ(exec.orig_head, 0xffff888000001000ull);

  Event later;  // the sent-back skb at a later tracepoint: the same packet
  later.ts = 300;
  later.has_tracking = true;
  later.track_ts = 200;
  later.orig_head = 0xffff888000002000ull;
  ASSERT_TRUE(linker.link(later));
  EXPECT_EQ(later.track_ts, 90u);

  Event other = exec;  // an execution with a queue id no upcall had
  other.track_ts = 400;
  other.orig_head = 0xffff888000004000ull;
  other.ovs.queue_id = 1;
  EXPECT_FALSE(linker.link(other));
  EXPECT_EQ(other.track_ts, 400u);
}

namespace {

// The module's functions as Linux 6.1 has them, for the kprobe fallback.
BtfPtr module_functions_btf() {
  BtfPtr b(btf__new_empty(), btf__free);
  auto ptr_to = [&](const char* sname) {
    return btf__add_ptr(b.get(), btf__add_struct(b.get(), sname, 8));
  };
  int dp = ptr_to("datapath"), skb = ptr_to("sk_buff"), key = ptr_to("sw_flow_key");
  int info = ptr_to("dp_upcall_info"), attr = ptr_to("nlattr");
  int i32 = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  auto function = [&](const char* name, std::vector<int> args) {
    int proto = btf__add_func_proto(b.get(), i32);
    for (int a : args) btf__add_func_param(b.get(), "", a);
    btf__add_func(b.get(), name, BTF_FUNC_STATIC, proto);
  };
  function("ovs_dp_upcall", {dp, skb, key, info, i32});
  function("do_execute_actions", {dp, skb, key, attr, i32});
  btf__add_enum(b.get(), "ovs_action_attr", 4);
  btf__add_enum_value(b.get(), "OVS_ACTION_ATTR_UNSPEC", 0);
  btf__add_enum_value(b.get(), "OVS_ACTION_ATTR_OUTPUT", 1);
  return b;
}

}  // namespace

TEST(OvsCollect, KprobesOnTheFunctionsThatHoldTheTracepoints) {
  auto b = module_functions_btf();
  EXPECT_FALSE(ovs_probes_from(b.get()).ok()) << "no tracepoints in it";
  auto ovs = ovs_kprobes_from(b.get());
  ASSERT_TRUE(ovs.ok()) << ovs.error().message;
  EXPECT_TRUE(ovs->kprobes);
  ASSERT_EQ(ovs->probes.size(), 2u);
  const ProbeSpec& up = ovs->probes[0];
  EXPECT_EQ(up.kind, ProbeKind::kprobe);
  EXPECT_EQ(up.symbol(), "ovs_dp_upcall");
  EXPECT_EQ(up.functions, std::vector<std::string>{"ovs_dp_upcall"});
  EXPECT_EQ(up.cfg.ovs_point, NSCOPE_OVS_UPCALL);
  EXPECT_EQ(up.cfg.skb_arg, 1) << "a function's arguments have no __data before them";
  EXPECT_EQ(up.cfg.upcall_arg, 3);
  const ProbeSpec& ex = ovs->probes[1];
  EXPECT_EQ(ex.symbol(), "do_execute_actions");
  EXPECT_EQ(ex.cfg.ovs_point, NSCOPE_OVS_EXECUTE);
  EXPECT_EQ(ex.cfg.key_arg, 2);
  EXPECT_EQ(ex.cfg.attr_arg, 3);
  ASSERT_GE(ovs->actions.size(), 2u);
  EXPECT_EQ(ovs->actions[1], "output");
  BtfPtr empty(btf__new_empty(), btf__free);
  auto none = ovs_kprobes_from(empty.get());
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("ovs_dp_upcall"), std::string::npos);
}
