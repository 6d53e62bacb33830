// Every field of every section nscope reads, given a wrong type, an out-of-range value and no
// value at all: a malformed line naming the field, or (for an optional field) a good one. The
// fast parser must give the very same verdict and message as the full one.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/fast_reader.h"
#include "events/format.h"
#include "events/reader.h"

namespace nscope {
namespace {
using nlohmann::json;

// One event with every section, in Retis 1.6+'s layout.
json base_event() {
  auto tuple = [](const char* s, const char* d, json proto) {
    return json{{"ip", {{"src", s}, {"dst", d}, {"version", "v4"}}}, {"proto", proto}};
  };
  json j = json::parse(R"J({
    "common": {"timestamp": 30419169061793, "smp_id": 6,
               "task": {"pid": 11330, "tgid": 11330, "comm": "ping"}},
    "kernel": {"symbol": "net:net_dev_start_xmit", "probe_type": "raw_tracepoint"},
    "userspace": {"probe_type": "usdt", "symbol": "dpif_recv:recv_upcall", "ip": 94823,
                  "path": "/usr/sbin/ovs-vswitchd", "pid": 995, "tid": 985},
    "skb-tracking": {"orig_head": 18446619372617628672, "timestamp": 30419169061793,
                     "skb": 18446619372874141952},
    "skb-drop": {"drop_reason": "FLOW_ACTION", "subsys": "OPENVSWITCH"},
    "netns": {"cookie": 3, "inum": 4026532741},
    "dev": {"name": "veth-ns01", "ifindex": 11, "rx_ifindex": 10},
    "skb": {"meta": {"len": 98, "data_len": 0, "hash": 0, "ip_summed": 0, "csum": 0,
                     "csum_level": 0, "priority": 0},
            "data_ref": {"nohdr": false, "cloned": false, "fclone": 0, "users": 1, "dataref": 1},
            "gso": {"flags": 0, "frags": 0, "size": 0, "segs": 0, "type": 0},
            "vlan_accel": {"proto": 33024, "pcp": 0, "dei": false, "vid": 100}},
    "nft": {"table_name": "filter", "chain_name": "input", "verdict": "drop",
            "verdict_chain_name": "x", "table_handle": 1, "chain_handle": 2, "rule_handle": 7,
            "policy": false},
    "ovs": {"event_type": "upcall", "cmd": 1, "port": 3319069055, "cpu": 6},
    "ovs-detrace": {"ufid": [1, 2, 3, 4], "flow": 5, "sf_acts": 6, "dpflow": "in_port(3)",
                    "ofpflows": ["table=0 actions=drop"]},
    "packet": {"len": 98, "capture_len": 14, "data": "+ly9jswBpsIRcVlFCABF"}
  })J");
  j.merge_patch(json{{"ct",
                         {{"state", "new"},
                          {"zone_id", 0},
                          {"zone_dir", "Default"},
                          {"orig", tuple("192.168.125.10", "192.168.125.11",
                                         {{"tcp", {{"sport", 43512}, {"dport", 8080}}}})},
                          {"reply", tuple("192.168.125.11", "192.168.125.10",
                                          {{"tcp", {{"sport", 8080}, {"dport", 43512}}}})},
                          {"proto_state", "SYN_SENT"},
                          {"mark", 0},
                          {"labels", {{"hi", 0}, {"lo", 1}}},
                          {"ct_status", 8}}}});
  return j;
}

enum Type { U8, U16, U32, U64, I32, I64, Bool, Str, Enum, Addr };
struct Field {
  const char* path;  // JSON pointer into base_event()
  Type type;
  bool required;
};

const std::vector<Field> kFields = {
    {"/common/timestamp", U64, true},      {"/common/smp_id", U32, false},
    {"/common/task/pid", U32, false},      {"/common/task/tgid", U32, false},
    {"/common/task/comm", Str, false},     {"/kernel/symbol", Str, true},
    {"/kernel/probe_type", Str, true},     {"/userspace/probe_type", Str, true},
    {"/userspace/symbol", Str, true},      {"/userspace/ip", U64, true},
    {"/userspace/path", Str, true},        {"/userspace/pid", I32, true},
    {"/userspace/tid", I32, true},         {"/skb-tracking/orig_head", U64, true},
    {"/skb-tracking/timestamp", U64, true}, {"/skb-tracking/skb", U64, false},
    {"/skb-drop/drop_reason", Str, true},  {"/skb-drop/subsys", Str, false},
    {"/netns/cookie", U64, false},         {"/netns/inum", U32, true},
    {"/dev/name", Str, true},              {"/dev/ifindex", U32, true},
    {"/dev/rx_ifindex", U32, false},       {"/skb/meta/len", U32, true},
    {"/skb/meta/data_len", U32, true},     {"/skb/meta/hash", U32, true},
    {"/skb/meta/ip_summed", U8, true},     {"/skb/meta/csum", U32, true},
    {"/skb/meta/csum_level", U8, true},    {"/skb/meta/priority", U32, true},
    {"/skb/data_ref/nohdr", Bool, true},   {"/skb/data_ref/cloned", Bool, true},
    {"/skb/data_ref/fclone", U8, true},    {"/skb/data_ref/users", U8, true},
    {"/skb/data_ref/dataref", U8, true},   {"/skb/gso/flags", U8, true},
    {"/skb/gso/frags", U8, true},          {"/skb/gso/size", U32, true},
    {"/skb/gso/segs", U32, true},          {"/skb/gso/type", U32, true},
    {"/skb/vlan_accel/proto", U16, true},  {"/skb/vlan_accel/pcp", U8, true},
    {"/skb/vlan_accel/dei", Bool, true},   {"/skb/vlan_accel/vid", U16, true},
    {"/nft/table_name", Str, true},        {"/nft/chain_name", Str, true},
    {"/nft/verdict", Str, true},           {"/nft/verdict_chain_name", Str, false},
    {"/nft/table_handle", I64, true},      {"/nft/chain_handle", I64, true},
    {"/nft/rule_handle", I64, false},      {"/nft/policy", Bool, true},
    {"/ovs/event_type", Enum, true},       {"/ovs/cmd", U8, true},
    {"/ovs/port", U32, true},              {"/ovs/cpu", U32, true},
    {"/ovs-detrace/flow", U64, true},      {"/ovs-detrace/sf_acts", U64, true},
    {"/ovs-detrace/dpflow", Str, true},    {"/packet/len", U32, true},
    {"/packet/capture_len", U32, false},   {"/packet/data", Str, true},
    {"/ct/state", Enum, true},             {"/ct/zone_id", U16, false},
    {"/ct/zone_dir", Enum, false},         {"/ct/proto_state", Str, false},
    {"/ct/mark", U32, false},              {"/ct/ct_status", U64, false},
    {"/ct/labels/hi", U64, true},          {"/ct/labels/lo", U64, true},
    {"/ct/orig/ip/src", Addr, true},       {"/ct/orig/ip/dst", Addr, true},
    {"/ct/reply/ip/version", Enum, false}, {"/ct/orig/proto/tcp/sport", U16, false},
    {"/ct/reply/proto/tcp/dport", U16, false},
};

// "/dev/ifindex" -> "dev.ifindex"
std::string dotted(std::string p) {
  p.erase(0, 1);
  for (auto& c : p)
    if (c == '/') c = '.';
  return p;
}

struct Verdict {
  bool ok;
  std::string message;
};

// Both parsers on one line: they must agree; the verdict is returned.
Verdict parse_both(const std::string& line) {
  SymbolTable syms;
  Event a, b;
  auto full = parse_event_line(line, syms, a, nullptr);
  auto fast = parse_event_line_fast(line, syms, b, nullptr);
  EXPECT_EQ(full.ok(), fast.ok()) << line;
  // The tail's flag tells the truth, whichever parser filled the event.
  if (full.ok()) {
    EXPECT_EQ(a.has_rare, a.any_rare()) << line;
  }
  if (fast.ok()) {
    EXPECT_EQ(b.has_rare, b.any_rare()) << line;
  }
  if (!full.ok() && !fast.ok()) {
    EXPECT_EQ(full.error().message, fast.error().message);
  }
  return {full.ok(), full.ok() ? "" : full.error().message};
}

// Replaces the value at `path` in the base event; returns the line.
std::string with(const std::string& path, const json& v) {
  json j = base_event();
  j[json::json_pointer(path)] = v;
  return j.dump();
}
std::string without(const std::string& path) {
  json j = base_event();
  json::json_pointer p(path);
  j[p.parent_pointer()].erase(p.back());
  return j.dump();
}

TEST(EventChecks, TheBaseEventIsGood) {
  Verdict v = parse_both(base_event().dump());
  EXPECT_TRUE(v.ok) << v.message;
}

TEST(EventChecks, AWrongTypeNamesTheField) {
  for (const Field& f : kFields) {
    // A string where a number or a truth goes; a number where a string goes.
    json bad = (f.type == Str || f.type == Enum || f.type == Addr) ? json(7) : json("x");
    Verdict v = parse_both(with(f.path, bad));
    EXPECT_FALSE(v.ok) << f.path;
    EXPECT_EQ(v.message.rfind(dotted(f.path) + ": expected ", 0), 0u) << f.path << ": " << v.message;
    // An object where a value goes is as wrong.
    v = parse_both(with(f.path, json::object({{"a", 1}})));
    EXPECT_FALSE(v.ok) << f.path;
    EXPECT_NE(v.message.find(dotted(f.path) + ": expected "), std::string::npos) << v.message;
    EXPECT_NE(v.message.find("got an object"), std::string::npos) << v.message;
  }
}

TEST(EventChecks, AValueOutOfItsRangeNamesTheField) {
  for (const Field& f : kFields) {
    std::vector<json> out;
    switch (f.type) {
      case U8: out = {256, -1, 1.5}; break;
      case U16: out = {65536, -1, 2.5}; break;
      case U32: out = {4294967296ull, -1, 0.5}; break;  // past 32 bits where the kernel has 32
      case U64: out = {json::parse("18446744073709551616"), -1, 1.5}; break;
      case I32: out = {2147483648ll, -2147483649ll, 1.5}; break;
      case I64: out = {json::parse("9223372036854775808"), 1.5}; break;
      case Enum: out = {"nonsense"}; break;
      case Addr: out = {"999.1.1.1"}; break;
      case Bool:
      case Str: break;  // no range beyond the type
    }
    for (const json& v : out) {
      Verdict r = parse_both(with(f.path, v));
      EXPECT_FALSE(r.ok) << f.path << " = " << v.dump();
      EXPECT_EQ(r.message.rfind(dotted(f.path) + ": expected ", 0), 0u)
          << f.path << " = " << v.dump() << ": " << r.message;
    }
  }
}

TEST(EventChecks, AMissingFieldIsMalformedOnlyWhereTheSectionRequiresIt) {
  for (const Field& f : kFields) {
    Verdict v = parse_both(without(f.path));
    if (f.required) {
      EXPECT_FALSE(v.ok) << f.path;
      EXPECT_EQ(v.message, dotted(f.path) + (f.path == std::string("/common/timestamp")
                                                 ? ": missing"
                                                 : ": missing (the section requires it)"))
          << f.path;
    } else {
      EXPECT_TRUE(v.ok) << f.path << ": " << v.message;
    }
  }
}

TEST(EventChecks, NullIsAnAbsentOptionalField) {
  Verdict v = parse_both(with("/dev/rx_ifindex", nullptr));
  EXPECT_TRUE(v.ok) << v.message;
  v = parse_both(with("/dev/ifindex", nullptr));
  EXPECT_EQ(v.message, "dev.ifindex: missing (the section requires it)");
}

TEST(EventChecks, NestingAndSizeAreBounded) {
  std::string deep = R"({"common":{"timestamp":1},"future":)" + std::string(40, '[') +
                     std::string(40, ']') + "}";
  Verdict v = parse_both(deep);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find("nested deeper than 32 levels"), std::string::npos) << v.message;

  std::string wide = R"({"common":{"timestamp":1},"future":[)";
  for (int i = 0; i < 100001; ++i) wide += i ? ",1" : "1";
  wide += "]}";
  v = parse_both(wide);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.message.find("more than 100000 JSON values in one line"), std::string::npos)
      << v.message;
}

TEST(EventChecks, InvalidUtf8SaysSo) {
  std::string line = R"({"common":{"timestamp":1,"task":{"pid":1,"comm":"a)" "\xff\xfe" R"("}}})";
  Verdict v = parse_both(line);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.message.rfind("invalid UTF-8 near byte ", 0), 0u) << v.message;
}

TEST(EventChecks, UnknownSectionsAndFieldsAreCounted) {
  SymbolTable syms;
  SkippedFields skipped;
  ParseExtras x;
  x.skipped = &skipped;
  Event e;
  json j = base_event();
  j["future"] = {{"a", 1}};
  j["dev"]["color"] = "blue";
  ASSERT_TRUE(parse_event_line(j.dump(), syms, e, x).ok());
  ASSERT_TRUE(parse_event_line(j.dump(), syms, e, x).ok());
  EXPECT_EQ(skipped, (SkippedFields{{"dev.color", 2}, {"future", 2}}));
  EXPECT_EQ(skipped_summary(skipped),
            "skipped (nscope does not read them): dev.color 2 events, future 2 events");
  // The fast parser counts the sections it reads past itself.
  SkippedFields fast;
  FastEventParser p(syms);
  p.set_outputs(&fast, nullptr);
  json k = json::parse(R"({"common":{"timestamp":1},"future":{"a":[1,2]}})");
  ASSERT_TRUE(p.try_event(k.dump(), e));
  EXPECT_EQ(fast, (SkippedFields{{"future", 1}}));
}

}  // namespace
}  // namespace nscope

namespace nscope {
namespace {

// What nscope writes of an event (sort -o, collect -o) reads back the same: no section of
// Retis's is lost on the way through nscope's JSON.
TEST(EventChecks, EveryRetisSectionSurvivesOurJson) {
  for (const char* name : {"retis_sections.json", "retis_sorted.json", "retis15.json"}) {
    std::ifstream f(std::string(NSCOPE_FIXTURES) + "/events/" + name);
    ASSERT_TRUE(f) << name;
    size_t events = 0;
    for (std::string line; std::getline(f, line);) {
      SymbolTable syms;
      std::vector<Event> series;
      ParseExtras x;
      x.series = &series;
      Event e;
      auto kind = parse_event_line(line, syms, e, x);
      ASSERT_TRUE(kind.ok()) << kind.error().message;
      if (*kind == LineKind::event) series = {e};
      else if (*kind != LineKind::series) continue;
      for (const Event& in : series) {
        EXPECT_EQ(in.has_rare, in.any_rare());
        std::string json_line;
        format_event_json(in, json_line);
        Event back;
        auto k2 = parse_event_line(json_line, syms, back, nullptr);
        ASSERT_TRUE(k2.ok()) << k2.error().message << "\n" << json_line;
        for (bool retis : {false, true}) {
          TextOptions opt;
          opt.retis = retis;
          opt.ethernet = true;
          std::string a, b;
          format_event_text(in, opt, a);
          format_event_text(back, opt, b);
          EXPECT_EQ(a, b) << json_line;
        }
        ++events;
      }
    }
    EXPECT_GT(events, 0u) << name;
  }
}

}  // namespace
}  // namespace nscope
