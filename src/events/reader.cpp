#include "events/reader.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "events/format.h"
#include "events/free_points.h"

namespace nscope {
namespace {
using nlohmann::json;

// The first problem found in a line, named by the field's path.
struct Fault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case json::value_t::null: return "null";
    default: break;
  }
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

[[noreturn]] void fault(std::string_view path, std::string_view want, const json& got) {
  throw Fault(fmt::format("{}: expected {}, got {}", path, want, describe(got)));
}

std::string_view range_name(uint64_t max) {
  switch (max) {
    case 0xff: return "an unsigned integer below 2^8";
    case 0xffff: return "an unsigned integer below 2^16";
    case 0xffffffff: return "an unsigned integer below 2^32";
    default: return "an unsigned integer below 2^64";
  }
}

// A strict unsigned number in a string: "123" or "0x7b", nothing else, no overflow.
bool numeric_string(const std::string& s, uint64_t& v) {
  if (s.empty()) return false;
  const char* p = s.c_str();
  int base = 10;
  if (s.size() > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p += 2;
  }
  if (!*p || *p == '-' || *p == '+' || *p == ' ') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long x = std::strtoull(p, &end, base);
  if (errno || *end) return false;
  v = x;
  return true;
}

// An object at `path`; the accessors check types and ranges and note the keys they know,
// so finish() can count the others as skipped.
class Obj {
 public:
  Obj(const json& j, std::string path, SymbolTable& symbols, SkippedFields* skipped)
      : j_(j), path_(std::move(path)), symbols_(symbols), skipped_(skipped) {}

  const std::string& path() const { return path_; }
  const json& raw() const { return j_; }

  // The value under key; nullptr when absent or null (Retis writes None as null or not at all).
  const json* get(const char* key) {
    known_.push_back(key);
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  bool has(const char* key) {
    auto it = j_.find(key);
    return it != j_.end() && !it->is_null();
  }
  std::string at(const char* key) const { return path_ + "." + key; }

  // Unsigned up to max. strings_ok: a decimal or 0x string is taken too (nscope wrote
  // addresses and 64-bit ids that way).
  bool u(const char* key, uint64_t max, uint64_t& out, bool strings_ok = false) {
    const json* v = get(key);
    if (!v) return false;
    uint64_t x = 0;
    if (v->is_number_unsigned()) {
      x = v->get<uint64_t>();
    } else if (v->is_number_integer()) {
      fault(at(key), range_name(max), *v);  // negative
    } else if (strings_ok && v->is_string() && numeric_string(v->get_ref<const std::string&>(), x)) {
    } else {
      fault(at(key), range_name(max), *v);
    }
    if (x > max) fault(at(key), range_name(max), *v);
    out = x;
    return true;
  }
  template <class T>
  bool u(const char* key, T& out, bool strings_ok = false) {
    uint64_t x = 0;
    if (!u(key, static_cast<uint64_t>(static_cast<T>(~T{0})), x, strings_ok)) return false;
    out = static_cast<T>(x);
    return true;
  }
  // Signed, within [min, max].
  bool i(const char* key, int64_t min, int64_t max, int64_t& out) {
    const json* v = get(key);
    if (!v) return false;
    auto want = [&] {
      return max == INT32_MAX ? "an integer of 32 bits" : "an integer of 64 bits";
    };
    if (v->is_number_integer() && !v->is_number_unsigned()) {
      out = v->get<int64_t>();
    } else if (v->is_number_unsigned()) {
      uint64_t x = v->get<uint64_t>();
      if (x > static_cast<uint64_t>(max)) fault(at(key), want(), *v);
      out = static_cast<int64_t>(x);
    } else {
      fault(at(key), want(), *v);
    }
    if (out < min || out > max) fault(at(key), want(), *v);
    return true;
  }
  bool b(const char* key, bool& out) {
    const json* v = get(key);
    if (!v) return false;
    if (!v->is_boolean()) fault(at(key), "true or false", *v);
    out = v->get<bool>();
    return true;
  }
  const std::string* str(const char* key) {
    const json* v = get(key);
    if (!v) return nullptr;
    if (!v->is_string()) fault(at(key), "a string", *v);
    return &v->get_ref<const std::string&>();
  }
  bool s(const char* key, std::string_view& out) {
    const std::string* v = str(key);
    if (!v) return false;
    out = symbols_.intern(*v);
    return true;
  }
  template <size_t N>
  bool s(const char* key, std::array<char, N>& out) {
    const std::string* v = str(key);
    if (!v) return false;
    out.fill(0);
    std::memcpy(out.data(), v->data(), std::min(v->size(), N - 1));
    return true;
  }
  std::optional<Obj> obj(const char* key) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_object()) fault(at(key), "an object", *v);
    return Obj(*v, at(key), symbols_, skipped_);
  }
  const json* arr(const char* key) {
    const json* v = get(key);
    if (v && !v->is_array()) fault(at(key), "an array", *v);
    return v;
  }
  Obj child(const json& v, std::string path) const { return Obj(v, std::move(path), symbols_, skipped_); }
  // Keys read past on purpose: not counted as skipped.
  void ignore(const char* key) { known_.push_back(key); }
  void finish() {
    if (!skipped_) return;
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      bool known = false;
      for (const char* k : known_)
        if (it.key() == k) known = true;
      if (!known) ++(*skipped_)[at(it.key().c_str())];
    }
  }

 private:
  const json& j_;
  std::string path_;
  SymbolTable& symbols_;
  SkippedFields* skipped_;
  std::vector<const char*> known_;
};

// A field Retis's schema requires (and nscope always writes): absent is malformed.
void must(bool present, const Obj& o, const char* key) {
  if (!present) throw Fault(o.at(key) + ": missing (the section requires it)");
}


void parse_addr(Obj& o, const char* key, uint8_t family, std::array<uint8_t, 16>& out) {
  const std::string* s = o.str(key);
  if (!s) return;
  if (inet_pton(family == 6 ? AF_INET6 : AF_INET, s->c_str(), out.data()) != 1)
    fault(o.at(key), family == 6 ? "an IPv6 address" : "an IPv4 address", *o.raw().find(key));
}

// Ours: {"src","dst","version":4,"proto":6,"sport","dport"}. Retis: {"ip": {"src","dst",
// "version": "v4"}, "proto": {"tcp": {"sport","dport"}}}.
void parse_tuple(Obj& j, CtTuple& t) {
  auto ip = j.obj("ip");
  Obj& base = ip ? *ip : j;
  if (const json* v = base.get("version")) {
    if (v->is_number_unsigned() && (v->get<uint64_t>() == 4 || v->get<uint64_t>() == 6))
      t.family = static_cast<uint8_t>(v->get<uint64_t>());
    else if (v->is_string() && (*v == "v4" || *v == "v6"))
      t.family = *v == "v6" ? 6 : 4;
    else
      fault(base.at("version"), "\"v4\" or \"v6\"", *v);
  }
  if (!t.family) t.family = 4;
  must(base.has("src"), base, "src");
  must(base.has("dst"), base, "dst");
  parse_addr(base, "src", t.family, t.src);
  parse_addr(base, "dst", t.family, t.dst);
  if (ip) ip->finish();
  const json* proto = j.get("proto");
  must(proto != nullptr, j, "proto");
  if (false) {
  } else if (proto->is_number()) {
    uint64_t p = 0;
    j.u("proto", 0xff, p);
    t.proto = static_cast<uint8_t>(p);
    j.u("sport", t.sport);
    j.u("dport", t.dport);
    if (t.proto == 132) j.u("vtag", t.vtag);
  } else if (proto->is_object() && proto->size() == 1) {
    const std::string& name = proto->begin().key();
    t.proto = name == "tcp" ? 6 : name == "udp" ? 17 : name == "icmp" ? 1 : name == "icmpv6" ? 58
            : name == "sctp" ? 132 : 0;
    if (!t.proto) fault(j.at("proto"), "one of tcp, udp, icmp, icmpv6, sctp", *proto);
    const json& p = proto->begin().value();
    if (!p.is_object()) fault(j.at("proto") + "." + name, "an object", p);
    Obj po = j.child(p, j.at("proto") + "." + name);
    if (t.proto == 1 || t.proto == 58) {
      uint8_t type = 0, code = 0;
      po.u("type", type);
      po.u("code", code);
      po.u("id", t.dport);
      t.sport = static_cast<uint16_t>(type << 8 | code);
    } else {
      po.u("sport", t.sport);
      po.u("dport", t.dport);
      if (t.proto == 132) po.u("vtag", t.vtag);
    }
    po.finish();
  } else {
    fault(j.at("proto"), "a protocol number or an object with one protocol", *proto);
  }
}

void parse_conn(Obj& c, CtConn& conn) {
  // nf_conn's status bits: "ct_status" in Retis 1.5 and later, "status" in nscope's files.
  if (!c.u("ct_status", conn.status)) c.u("status", conn.status);
  c.ignore("status");
  c.u("zone_id", conn.zone);
  if (const std::string* d = c.str("zone_dir")) {
    if (!zone_dir_of(*d, conn.zone_dir))
      fault(c.at("zone_dir"), "one of Original, Reply, Default, None", *c.raw().find("zone_dir"));
  } else if (c.has("zone_id")) {
    conn.zone_dir = CtZoneDir::default_;  // nscope's files and Retis before zone_dir
  }
  conn.has_mark = c.u("mark", conn.mark);
  if (auto l = c.obj("labels")) {
    conn.has_labels = true;
    must(l->u("hi", conn.labels_hi), *l, "hi");
    must(l->u("lo", conn.labels_lo), *l, "lo");
    l->finish();
  }
  if (!c.s("proto_state", conn.proto_state)) c.s("tcp_state", conn.proto_state);  // < 1.7
  if (auto o = c.obj("orig")) {
    parse_tuple(*o, conn.orig);
    o->finish();
  }
  if (auto r = c.obj("reply")) {
    parse_tuple(*r, conn.reply);
    r->finish();
  }
}

std::array<uint32_t, 4> parse_ufid(Obj& o, const char* key) {
  std::array<uint32_t, 4> u{};
  const json* v = o.get(key);
  if (!v) return u;
  if (v->is_array() && v->size() == 4) {
    for (size_t i = 0; i < 4; ++i) {
      const json& x = (*v)[i];
      if (!x.is_number_unsigned() || x.get<uint64_t>() > 0xffffffff)
        fault(o.at(key), "four unsigned 32-bit integers", *v);
      u[i] = static_cast<uint32_t>(x.get<uint64_t>());
    }
    return u;
  }
  fault(o.at(key), "four unsigned 32-bit integers", *v);
}

std::string_view joined_strings(Obj& o, const char* key, SymbolTable& symbols) {
  const json* a = o.arr(key);
  if (!a) return {};
  std::string text;
  for (const auto& f : *a) {
    if (!f.is_string()) fault(o.at(key), "an array of strings", f);
    if (!text.empty()) text += '\n';
    text += f.get_ref<const std::string&>();
  }
  return text.empty() ? std::string_view() : symbols.intern(text);
}

void parse_ovs(Obj& o, OvsInfo& v, SymbolTable& symbols) {
  const std::string* type = o.str("event_type");
  must(type != nullptr, o, "event_type");
  const std::string& t = *type;
  auto queue = [&] { v.has_queue_id = o.u("queue_id", v.queue_id); };
  int64_t ret = 0;
  auto ret32 = [&] {
    must(o.i("ret", INT32_MIN, INT32_MAX, ret), o, "ret");
    v.ret = static_cast<int32_t>(ret);
  };
  if (t == "upcall") {
    v.kind = OvsKind::upcall;
    must(o.u("cmd", v.cmd), o, "cmd");
    must(o.u("port", v.port), o, "port");
    must(o.u("cpu", v.cpu), o, "cpu");
    queue();  // nscope's, not Retis's: the queue id of an upcall seen at the tracepoint
  } else if (t == "upcall_enqueue") {
    v.kind = OvsKind::upcall_enqueue;
    ret32();
    must(o.u("cmd", v.cmd), o, "cmd");
    must(o.u("port", v.port), o, "port");
    must(o.u("upcall_ts", v.upcall_ts), o, "upcall_ts");
    must(o.u("upcall_cpu", v.upcall_cpu), o, "upcall_cpu");
    queue();
    must(v.has_queue_id, o, "queue_id");
  } else if (t == "upcall_return") {
    v.kind = OvsKind::upcall_return;
    must(o.u("upcall_ts", v.upcall_ts), o, "upcall_ts");
    must(o.u("upcall_cpu", v.upcall_cpu), o, "upcall_cpu");
    ret32();
  } else if (t == "recv_upcall") {
    v.kind = OvsKind::recv_upcall;
    must(o.u("type", v.recv_type), o, "type");
    must(o.u("pkt_size", v.pkt_size), o, "pkt_size");
    must(o.u("key_size", v.key_size), o, "key_size");
    queue();
    must(v.has_queue_id, o, "queue_id");
    must(o.u("batch_ts", v.batch_ts), o, "batch_ts");
    must(o.u("batch_idx", v.batch_idx), o, "batch_idx");
  } else if (t == "flow_operation") {
    v.kind = OvsKind::flow_operation;
    const std::string* op = o.str("op_type");
    must(op != nullptr, o, "op_type");
    if (*op == "exec") v.op_type = 0;
    else if (*op == "put") v.op_type = 1;
    else fault(o.at("op_type"), "\"exec\" or \"put\"", *o.raw().find("op_type"));
    queue();
    must(v.has_queue_id, o, "queue_id");
    must(o.u("batch_ts", v.batch_ts), o, "batch_ts");
    must(o.u("batch_idx", v.batch_idx), o, "batch_idx");
  } else if (t == "action_execute") {
    v.kind = OvsKind::action_execute;
    must(o.u("recirc_id", v.recirc_id), o, "recirc_id");
    queue();
    if (o.s("action", v.action)) {
      std::string_view a = v.action;
      if (a == "output") must(o.u("port", v.action_arg), o, "port");
      else if (a == "recirc") must(o.u("id", v.action_arg), o, "id");
      else if (a == "drop") must(o.u("reason", v.action_arg), o, "reason");
      else if (a == "ct") {
        must(o.u("flags", v.ct_flags), o, "flags");
        must(o.u("zone_id", v.ct_zone), o, "zone_id");
        if (auto n = o.obj("nat")) {
          v.has_nat = true;
          if (const std::string* d = n->str("dir")) {
            if (*d != "src" && *d != "dst") fault(n->at("dir"), "\"src\" or \"dst\"", json(*d));
            v.nat_dir = *d == "src" ? "src" : "dst";
          }
          n->s("min_addr", v.nat_min_addr);
          n->s("max_addr", v.nat_max_addr);
          v.has_min_port = n->u("min_port", v.nat_min_port);
          v.has_max_port = n->u("max_port", v.nat_max_port);
          n->finish();
        }
      }
    }
  } else if (t == "flow_lookup") {
    v.kind = OvsKind::flow_lookup;
    must(o.u("flow", v.lookup.flow), o, "flow");
    must(o.u("sf_acts", v.lookup.sf_acts), o, "sf_acts");
    must(o.has("ufid"), o, "ufid");
    v.lookup.ufid = parse_ufid(o, "ufid");
    must(o.u("n_mask_hit", v.n_mask_hit), o, "n_mask_hit");
    must(o.u("n_cache_hit", v.n_cache_hit), o, "n_cache_hit");
    o.s("dpflow", v.lookup.dpflow);
    v.lookup.ofpflows = joined_strings(o, "ofpflows", symbols);
  } else {
    fault(o.at("event_type"),
          "one of upcall, upcall_enqueue, upcall_return, recv_upcall, flow_operation, "
          "action_execute, flow_lookup",
          json(t));
  }
}

// Throws past kMaxJsonDepth, and drops the sections nscope does not read as they are
// parsed (counting them): a huge unknown section costs no memory.
struct Limits {
  SkippedFields* skipped;
  size_t* values;
  bool operator()(int depth, json::parse_event_t ev, json& parsed) const {
    if (depth > kMaxJsonDepth)
      throw Fault(fmt::format("nested deeper than {} levels (event files are flat; is this an "
                              "event file?)",
                              kMaxJsonDepth));
    if (++*values > kMaxJsonValues)
      throw Fault(fmt::format("more than {} JSON values in one line (an event has a few "
                              "hundred; is this an event file?)",
                              kMaxJsonValues));
    if (ev == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (known_section(k)) return true;
      if (skipped) ++(*skipped)[k];
      return false;
    }
    return true;
  }
};

json parse_json(std::string_view line, SkippedFields* skipped) {
  try {
    size_t values = 0;
    return json::parse(line, Limits{skipped, &values}, true);
  } catch (const Fault&) {
    throw;
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (what.find("UTF-8") != std::string::npos)
      throw Fault(fmt::format("invalid UTF-8 near byte {}: event files are UTF-8 JSON", e.byte));
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error while
    // parsing value - invalid literal; last read: 'b'": the reason is between " - " and ";".
    std::string reason = what;
    if (size_t dash = what.find(" - "); dash != std::string::npos) {
      reason = what.substr(dash + 3);
      if (size_t semi = reason.find(';'); semi != std::string::npos) reason.resize(semi);
    }
    throw Fault(fmt::format("not valid JSON: {} at byte {}", reason, e.byte));
  }
}

void parse_startup(const json& s, StartupInfo& startup) {
  startup = StartupInfo{};
  auto u64_of = [](const json& j) -> uint64_t {
    if (j.is_number_unsigned()) return j.get<uint64_t>();
    if (j.is_number_integer()) return static_cast<uint64_t>(j.get<int64_t>());
    return 0;
  };
  startup.tool = s.contains("nscope_version") ? "nscope" : "retis";
  if (auto v = s.find("nscope_version"); v != s.end() && v->is_string()) startup.version = *v;
  if (auto v = s.find("retis_version"); v != s.end() && v->is_string()) startup.version = *v;
  if (auto v = s.find("cmdline"); v != s.end() && v->is_string()) startup.cmdline = *v;
  if (auto v = s.find("kernel"); v != s.end() && v->is_string()) startup.kernel = *v;
  if (auto m = s.find("machine"); m != s.end() && m->is_object() && startup.kernel.empty())
    if (auto r = m->find("kernel_release"); r != m->end() && r->is_string()) startup.kernel = *r;
  if (auto names = s.find("netns_names"); names != s.end() && names->is_object())
    for (auto it = names->begin(); it != names->end(); ++it)
      if (it.value().is_string())
        startup.netns_names[static_cast<uint32_t>(std::strtoul(it.key().c_str(), nullptr, 10))] =
            it.value().get<std::string>();
  if (auto init = s.find("initial_netns"); init != s.end())
    startup.initial_netns = static_cast<uint32_t>(u64_of(*init));
  if (auto probes = s.find("probes"); probes != s.end() && probes->is_array())
    for (const auto& p : *probes)
      if (p.is_string()) startup.probes.push_back(p.get<std::string>());
  if (auto off = s.find("clock_monotonic_offset"); off != s.end() && off->is_object()) {
    // A damaged file may carry any number: an offset that does not fit is taken as 0.
    int64_t ns = 0;
    auto sec = static_cast<int64_t>(u64_of(off->value("sec", json(0))));
    auto nsec = static_cast<int64_t>(u64_of(off->value("nsec", json(0))));
    if (__builtin_mul_overflow(sec, int64_t{1000000000}, &ns) ||
        __builtin_add_overflow(ns, nsec, &ns))
      ns = 0;
    startup.mono_to_utc_ns = ns;
  }
}

void parse_packet(Obj& p, Event& e, const char* data_key) {
  uint32_t len = 0, capture_len = 0;
  must(p.u("len", len), p, "len");
  p.u("capture_len", capture_len);
  const std::string* d = p.str(data_key);
  must(d != nullptr, p, data_key);
  if (!read_packet_data(*d, len, e)) throw Fault(p.at(data_key) + ": not base64");
}

void parse_dev(Obj& d, Event& e) {
  e.has_dev = true;
  must(d.s("name", e.ifname), d, "name");
  must(d.u("ifindex", e.ifindex), d, "ifindex");
  d.u("rx_ifindex", e.rx_ifindex);
  d.finish();
}

void parse_tracking(Obj& t, Event& e) {
  e.has_tracking = true;
  must(t.u("orig_head", e.orig_head, true), t, "orig_head");
  must(t.u("timestamp", e.track_ts, true), t, "timestamp");
  t.u("skb", e.skb_addr, true);  // the skb now: not part of the id
  t.finish();
}

// A top-level section: its path is its key (no leading dot).
std::optional<Obj> section(Obj& top, const char* key) {
  const json* v = top.get(key);
  if (!v) return std::nullopt;
  if (!v->is_object()) fault(key, "an object", *v);
  return top.child(*v, key);
}

void parse_common(Obj& c, Event& e) {
  if (!c.u("timestamp", e.ts)) throw Fault("common.timestamp: missing");
  c.u("smp_id", e.cpu);
  if (auto task = c.obj("task")) {
    e.has_task = true;
    task->u("pid", e.pid);
    if (!task->u("tgid", e.tgid)) e.tgid = e.pid;
    task->s("comm", e.comm);
    task->finish();
  }
  c.finish();
}

void parse_kernel(Obj& k, Event& e, SymbolTable& symbols) {
  must(k.s("probe_type", e.probe_type), k, "probe_type");
  must(k.s("symbol", e.symbol), k, "symbol");
  e.stack_trace = joined_strings(k, "stack_trace", symbols);
  k.finish();
}

void parse_userspace(Obj& u, Event& e) {
  e.user.has = true;
  must(u.s("probe_type", e.user.probe_type), u, "probe_type");
  must(u.s("symbol", e.user.symbol), u, "symbol");
  must(u.s("path", e.user.path), u, "path");
  must(u.u("ip", e.user.ip), u, "ip");
  int64_t v = 0;
  must(u.i("pid", INT32_MIN, INT32_MAX, v), u, "pid");
  e.user.pid = static_cast<int32_t>(v);
  must(u.i("tid", INT32_MIN, INT32_MAX, v), u, "tid");
  e.user.tid = static_cast<int32_t>(v);
  u.finish();
}

void parse_netns(Obj& n, Event& e) {
  e.has_netns = true;
  must(n.u("inum", e.netns_inum), n, "inum");
  n.u("cookie", e.netns_cookie, true);
  n.finish();
}

void parse_skb_meta(Obj& m, Event& e) {
  uint32_t len = 0, data_len = 0;
  must(e.has_meta_len = m.u("len", len), m, "len");
  must(m.u("data_len", data_len), m, "data_len");
  if (!e.len) e.len = len;
  if (!e.data_len) e.data_len = data_len;
  e.meta.has = true;
  must(m.u("hash", e.meta.hash), m, "hash");
  must(m.u("ip_summed", e.meta.ip_summed), m, "ip_summed");
  must(m.u("csum", e.meta.csum), m, "csum");
  must(m.u("csum_level", e.meta.csum_level), m, "csum_level");
  must(m.u("priority", e.meta.priority), m, "priority");
  m.finish();
}

void parse_skb_data_ref(Obj& r, Event& e) {
  e.data_ref.has = true;
  must(r.b("nohdr", e.data_ref.nohdr), r, "nohdr");
  must(r.b("cloned", e.data_ref.cloned), r, "cloned");
  must(r.u("fclone", e.data_ref.fclone), r, "fclone");
  must(r.u("users", e.data_ref.users), r, "users");
  must(r.u("dataref", e.data_ref.dataref), r, "dataref");
  r.finish();
}

void parse_skb_gso(Obj& g, Event& e) {
  e.gso.has = true;
  must(g.u("flags", e.gso.flags), g, "flags");
  must(g.u("frags", e.gso.frags), g, "frags");
  must(g.u("size", e.gso.size), g, "size");
  must(g.u("segs", e.gso.segs), g, "segs");
  must(g.u("type", e.gso.type), g, "type");
  g.finish();
}

void parse_skb_vlan_accel(Obj& v, Event& e) {
  e.vlan_accel.has = true;
  must(v.u("proto", e.vlan_accel.proto), v, "proto");
  must(v.u("pcp", e.vlan_accel.pcp), v, "pcp");
  must(v.b("dei", e.vlan_accel.dei), v, "dei");
  must(v.u("vid", e.vlan_accel.vid), v, "vid");
  v.finish();
}

void parse_skb(Obj& s, Event& e) {
  e.has_skb = true;
  s.u("addr", e.skb_addr, true);
  s.u("len", e.len);
  s.u("data_len", e.data_len);
  s.u("mark", e.mark);
  s.u("protocol", e.protocol);
  if (auto m = s.obj("meta")) parse_skb_meta(*m, e);
  if (auto r = s.obj("data_ref")) parse_skb_data_ref(*r, e);
  if (auto g = s.obj("gso")) parse_skb_gso(*g, e);
  if (auto v = s.obj("vlan_accel")) parse_skb_vlan_accel(*v, e);
  // Retis 1.5: the device, namespace and packet inside skb.
  if (auto d = s.obj("dev")) parse_dev(*d, e);
  if (auto n = s.obj("ns")) {
    e.has_netns = true;
    n->u("netns", e.netns_inum);
    n->u("cookie", e.netns_cookie);
    n->finish();
  }
  if (auto p = s.obj("packet")) {
    parse_packet(*p, e, "packet");
    p->finish();
  }
  // Retis 1.5's headers parsed from the packet: the packet shows them all.
  for (const char* derived : {"eth", "arp", "ip", "tcp", "udp", "icmp", "icmpv6"})
    if (e.has_packet || !s.has(derived)) s.ignore(derived);
  s.finish();
}

// A sorted file's "tracking": the skb's id and the event's place in its series.
void parse_series_tracking(Obj& t, Event& e) {
  auto sk = t.obj("skb");
  must(sk.has_value(), t, "skb");
  parse_tracking(*sk, e);
  must(e.has_series_idx = t.u("idx", e.series_idx), t, "idx");
  t.finish();
}

void parse_drop(Obj& d, Event& e) {
  e.has_drop = true;
  must(d.s("drop_reason", e.drop_reason), d, "drop_reason");
  d.s("subsys", e.drop_subsys);
  d.finish();
}

void parse_ct(Obj& c, Event& e) {
  e.has_ct = true;
  const std::string* st = c.str("state");
  must(st != nullptr, c, "state");
  if (!ct_state_of(*st, e.ct_state))
    fault("ct.state", "one of established, related, new, reply, related_reply, untracked",
          *c.raw().find("state"));
  // The connection: flattened into the section (Retis 1.5 and later, nscope), or under
  // "base" (early nscope files).
  if (auto base = c.obj("base")) {
    parse_conn(*base, e.ct);
    base->finish();
  } else {
    parse_conn(c, e.ct);
  }
  if (auto p = c.obj("parent")) {
    e.has_ct_parent = true;
    parse_conn(*p, e.ct_parent);
    p->finish();
  }
  c.finish();
}

void parse_nft(Obj& n, Event& e) {
  e.nft.has = true;
  must(n.s("table_name", e.nft.table), n, "table_name");
  must(n.s("chain_name", e.nft.chain), n, "chain_name");
  must(n.s("verdict", e.nft.verdict), n, "verdict");
  n.s("verdict_chain_name", e.nft.verdict_chain);
  must(n.i("table_handle", INT64_MIN, INT64_MAX, e.nft.table_handle), n, "table_handle");
  must(n.i("chain_handle", INT64_MIN, INT64_MAX, e.nft.chain_handle), n, "chain_handle");
  e.nft.has_rule = n.i("rule_handle", INT64_MIN, INT64_MAX, e.nft.rule_handle);
  must(n.b("policy", e.nft.policy), n, "policy");
  n.s("family", e.nft.family);  // nscope's files only
  n.finish();
}

void parse_ovs_detrace(Obj& o, Event& e, SymbolTable& symbols) {
  e.has_ovs_detrace = true;
  must(o.has("ufid"), o, "ufid");
  e.ovs_detrace.ufid = parse_ufid(o, "ufid");
  must(o.u("flow", e.ovs_detrace.flow), o, "flow");
  must(o.u("sf_acts", e.ovs_detrace.sf_acts), o, "sf_acts");
  must(o.s("dpflow", e.ovs_detrace.dpflow), o, "dpflow");
  e.ovs_detrace.ofpflows = joined_strings(o, "ofpflows", symbols);
  o.finish();
}

// The sections in the order Retis writes them; each one's fields are checked as read.
void parse_event(const json& j, SymbolTable& symbols, Event& e, SkippedFields* skipped) {
  Obj top(j, "", symbols, skipped);
  e = Event{};
  auto common = section(top, "common");
  if (!common) fault("common", "an object", json());  // null: its callers saw the key
  parse_common(*common, e);
  if (auto k = section(top, "kernel")) parse_kernel(*k, e, symbols);
  if (auto u = section(top, "userspace")) parse_userspace(*u, e);
  if (auto n = section(top, "netns")) parse_netns(*n, e);
  if (auto d = section(top, "dev")) parse_dev(*d, e);
  if (auto s = section(top, "skb")) parse_skb(*s, e);
  if (auto t = section(top, "skb-tracking")) parse_tracking(*t, e);
  if (auto t = section(top, "tracking")) parse_series_tracking(*t, e);
  if (auto d = section(top, "skb-drop")) parse_drop(*d, e);
  if (auto c = section(top, "ct")) parse_ct(*c, e);
  if (auto n = section(top, "nft")) parse_nft(*n, e);
  if (auto o = section(top, "ovs")) {
    parse_ovs(*o, e.ovs, symbols);
    o->finish();
  }
  if (auto o = section(top, "ovs-detrace")) parse_ovs_detrace(*o, e, symbols);
  if (auto p = section(top, "packet")) {
    parse_packet(*p, e, "data");
    p->finish();
  }
  top.ignore("startup");
  top.ignore("stats");
  top.finish();
  e.has_rare = e.any_rare();
}

}  // namespace

bool read_packet_data(std::string_view base64, uint32_t wire_len, Event& e) {
  size_t n = 0;
  if (!base64_decode(base64, e.data.data(), e.data.size(), &n)) return false;
  e.has_packet = true;
  e.caplen = static_cast<uint16_t>(n);
  e.l2_len = 14;  // files always start packets at the Ethernet header, as Retis does
  e.wire_len = wire_len;
  if (!e.len) e.len = e.wire_len;
  if (!e.protocol && n >= 14) e.protocol = static_cast<uint16_t>(e.data[12] << 8 | e.data[13]);
  return true;
}

bool known_section(std::string_view key) {
  static constexpr std::string_view kKnown[] = {
      "common", "kernel", "userspace", "tracking", "skb-tracking", "skb-drop", "packet", "skb",
      "netns", "dev", "ovs", "ovs-detrace", "nft", "ct", "startup", "stats",
      "id", "continued", "first_n", "events", "path", "end"};  // nscope sort -o
  for (std::string_view known : kKnown)
    if (key == known) return true;
  return false;
}

bool StartupInfo::traces_frees() const {
  for (const auto& p : probes)
    if (free_points::is_free_tracepoint(p)) return true;
  return false;
}

Result<LineKind> parse_event_line(std::string_view line, SymbolTable& symbols, Event& e,
                                  StartupInfo* startup) {
  ParseExtras x;
  x.startup = startup;
  return parse_event_line(line, symbols, e, x);
}

Result<LineKind> parse_event_line(std::string_view line, SymbolTable& symbols, Event& e,
                                  const ParseExtras& x) {
  try {
    // Unknown top-level sections count only when the line is an event (or a series).
    SkippedFields dropped;
    json j = parse_json(line, x.skipped ? &dropped : nullptr);
    auto count_dropped = [&] {
      for (auto& [k, n] : dropped) (*x.skipped)[k] += n;
    };
    // A sorted file: `retis sort -o` writes a series as an array of events, `nscope sort -o`
    // as an object with "events".
    const json* events = nullptr;
    if (j.is_array()) events = &j;
    else if (j.is_object() && j.contains("events") && !j.contains("common")) {
      events = &j["events"];
      if (!events->is_array()) fault("events", "an array of events", *events);
    }
    if (events) {
      if (events->size() == 1 && (*events)[0].is_object() && (*events)[0].contains("startup")) {
        if (x.startup) parse_startup((*events)[0]["startup"], *x.startup);
        return LineKind::startup;
      }
      if (!x.series) throw Fault("a sorted file's series where one event was expected");
      x.series->clear();
      uint32_t idx = 0;
      for (const auto& ev : *events) {
        if (!ev.is_object() || !ev.contains("common"))
          throw Fault(fmt::format("not a series of events: element {} is {}", idx, describe(ev)));
        Event& s = x.series->emplace_back();
        parse_event(ev, symbols, s, x.skipped);
        if (!s.has_series_idx) {
          s.has_series_idx = true;
          s.series_idx = idx;
        }
        s.series_first = idx == 0;
        ++idx;
      }
      count_dropped();
      return LineKind::series;
    }
    if (!j.is_object()) throw Fault("not a JSON object");
    if (auto s = j.find("startup"); s != j.end()) {
      if (x.startup && s->is_object()) parse_startup(*s, *x.startup);
      return LineKind::startup;
    }
    if (j.contains("stats")) return LineKind::stats;
    auto common = j.find("common");
    if (common == j.end()) return LineKind::other;
    if (!common->is_object()) fault("common", "an object", *common);
    parse_event(j, symbols, e, x.skipped);
    count_dropped();
    return LineKind::event;
  } catch (const Fault& f) {
    return Error::msg(f.what());
  } catch (const json::exception& ex) {
    return Error::msg(std::string("malformed event: ") + ex.what());
  }
}

std::string skipped_summary(const SkippedFields& s) {
  if (s.empty()) return {};
  auto grouped = [](uint64_t n) {
    std::string d = std::to_string(n), out;
    for (size_t i = 0; i < d.size(); ++i) {
      if (i && (d.size() - i) % 3 == 0) out += ',';
      out += d[i];
    }
    return out;
  };
  std::string out = "skipped (nscope does not read them):";
  bool first = true;
  for (const auto& [name, n] : s) {
    out += first ? " " : ", ";
    first = false;
    out += name + " " + grouped(n) + (n == 1 ? " event" : " events");
  }
  return out;
}

}  // namespace nscope
