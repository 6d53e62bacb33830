#include "events/reader.h"

#include <arpa/inet.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "events/format.h"

namespace nscope {
namespace {
using nlohmann::json;

uint64_t u64_of(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) return static_cast<uint64_t>(j.get<int64_t>());
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    return std::strtoull(s.c_str(), nullptr, 0);
  }
  return 0;
}

template <size_t N>
void copy_str(const json& j, std::array<char, N>& dst) {
  dst.fill(0);
  if (!j.is_string()) return;
  const auto& s = j.get_ref<const std::string&>();
  std::memcpy(dst.data(), s.data(), std::min(s.size(), N - 1));
}

const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

CtState ct_state_of(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s == "ESTABLISHED") return CtState::established;
  if (s == "RELATED") return CtState::related;
  if (s == "NEW") return CtState::new_;
  if (s == "REPLY") return CtState::reply;
  if (s == "RELATED_REPLY" || s == "RELATEDREPLY") return CtState::related_reply;
  if (s == "UNTRACKED") return CtState::untracked;
  return CtState::none;
}

// nf_conn's status bits: "ct_status" in Retis 1.5 and later, "status" in nscope's files;
// looked up in the connection object first, then in the section.
const json* ct_status_of(const json& conn, const json& section) {
  for (const json* level : {&conn, &section})
    for (const char* key : {"ct_status", "status"})
      if (const json* v = field(*level, key)) return v;
  return nullptr;
}

bool parse_addr(const json* j, uint8_t family, std::array<uint8_t, 16>& out) {
  if (!j || !j->is_string()) return false;
  return inet_pton(family == 6 ? AF_INET6 : AF_INET, j->get_ref<const std::string&>().c_str(),
                   out.data()) == 1;
}

// Ours: {"src","dst","version","proto","sport","dport"}. Retis: {"ip": {"src","dst",
// "version": "v4"}, "proto": {"tcp": {"sport","dport"}}}.
void parse_tuple(const json& j, CtTuple& t) {
  const json* ip = field(j, "ip");
  const json& base = ip && ip->is_object() ? *ip : j;
  if (auto* v = field(base, "version")) {
    if (v->is_number()) t.family = v->get<uint8_t>();
    else if (v->is_string()) t.family = v->get_ref<const std::string&>() == "v6" ? 6 : 4;
  }
  if (!t.family) t.family = 4;
  parse_addr(field(base, "src"), t.family, t.src);
  parse_addr(field(base, "dst"), t.family, t.dst);
  const json* proto = field(j, "proto");
  if (proto && proto->is_number()) {
    t.proto = proto->get<uint8_t>();
    t.sport = static_cast<uint16_t>(u64_of(j.value("sport", json(0))));
    t.dport = static_cast<uint16_t>(u64_of(j.value("dport", json(0))));
  } else if (proto && proto->is_object() && !proto->empty()) {
    const std::string& name = proto->begin().key();
    const json& p = proto->begin().value();
    t.proto = name == "tcp" ? 6 : name == "udp" ? 17 : name == "icmp" ? 1 : name == "icmpv6" ? 58 : 0;
    if (p.is_object()) {
      t.sport = static_cast<uint16_t>(u64_of(p.value("sport", json(0))));
      t.dport = static_cast<uint16_t>(u64_of(p.value("dport", json(0))));
      if (t.proto == 1 || t.proto == 58) {
        t.sport = static_cast<uint16_t>(u64_of(p.value("type", json(0))) << 8 |
                                        u64_of(p.value("code", json(0))));
        t.dport = static_cast<uint16_t>(u64_of(p.value("id", json(0))));
      }
    }
  }
}
}  // namespace

bool StartupInfo::traces_frees() const {
  for (const auto& p : probes)
    if (p == "skb:kfree_skb" || p == "skb:consume_skb") return true;
  return false;
}

Result<LineKind> parse_event_line(std::string_view line, SymbolTable& symbols, Event& e,
                                  StartupInfo* startup) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded()) return Error::msg("not a JSON object");
  if (!j.is_object()) return Error::msg("not a JSON object");
  if (auto* s = field(j, "startup")) {
    if (startup && s->is_object()) {
      *startup = StartupInfo{};
      startup->tool = s->contains("nscope_version") ? "nscope" : "retis";
      if (auto* v = field(*s, "nscope_version"); v && v->is_string()) startup->version = *v;
      if (auto* v = field(*s, "retis_version"); v && v->is_string()) startup->version = *v;
      if (auto* v = field(*s, "cmdline"); v && v->is_string()) startup->cmdline = *v;
      if (auto* v = field(*s, "kernel"); v && v->is_string()) startup->kernel = *v;
      if (auto* names = field(*s, "netns_names"); names && names->is_object())
        for (auto it = names->begin(); it != names->end(); ++it)
          if (it.value().is_string())
            startup->netns_names[static_cast<uint32_t>(std::strtoul(it.key().c_str(), nullptr, 10))] =
                it.value().get<std::string>();
      if (auto* init = field(*s, "initial_netns")) startup->initial_netns = static_cast<uint32_t>(u64_of(*init));
      if (auto* probes = field(*s, "probes"); probes && probes->is_array())
        for (const auto& p : *probes)
          if (p.is_string()) startup->probes.push_back(p.get<std::string>());
      if (auto* off = field(*s, "clock_monotonic_offset"); off && off->is_object()) {
        // A damaged file may carry any number: an offset that does not fit is taken as 0.
        int64_t ns = 0;
        auto sec = static_cast<int64_t>(u64_of(off->value("sec", json(0))));
        auto nsec = static_cast<int64_t>(u64_of(off->value("nsec", json(0))));
        if (__builtin_mul_overflow(sec, int64_t{1000000000}, &ns) ||
            __builtin_add_overflow(ns, nsec, &ns))
          ns = 0;
        startup->mono_to_utc_ns = ns;
      }
    }
    return LineKind::startup;
  }
  if (j.contains("stats")) return LineKind::stats;
  const json* common = field(j, "common");
  if (!common || !common->is_object() || !common->contains("timestamp")) {
    if (!common) return LineKind::other;
    return Error::msg("event without common.timestamp");
  }
  e = Event{};
  e.ts = u64_of((*common)["timestamp"]);
  if (auto* cpu = field(*common, "smp_id")) e.cpu = static_cast<uint32_t>(u64_of(*cpu));
  if (auto* task = field(*common, "task"); task && task->is_object()) {
    e.has_task = true;
    e.pid = static_cast<uint32_t>(u64_of(task->value("pid", json(0))));
    e.tgid = static_cast<uint32_t>(u64_of(task->value("tgid", json(e.pid))));
    if (auto* c = field(*task, "comm")) copy_str(*c, e.comm);
  }
  if (auto* k = field(j, "kernel"); k && k->is_object()) {
    if (auto* t = field(*k, "probe_type"); t && t->is_string())
      e.probe_type = symbols.intern(t->get_ref<const std::string&>());
    if (auto* s = field(*k, "symbol"); s && s->is_string())
      e.symbol = symbols.intern(s->get_ref<const std::string&>());
    if (auto* st = field(*k, "stack_trace"); st && st->is_array()) {
      std::string frames;
      for (const auto& f : *st)
        if (f.is_string()) {
          if (!frames.empty()) frames += '\n';
          frames += f.get_ref<const std::string&>();
        }
      if (!frames.empty()) e.stack_trace = symbols.intern(frames);
    }
  }
  if (auto* n = field(j, "netns"); n && n->is_object()) {
    e.has_netns = true;
    e.netns_inum = static_cast<uint32_t>(u64_of(n->value("inum", json(0))));
    if (auto* c = field(*n, "cookie")) e.netns_cookie = u64_of(*c);
  }
  if (auto* d = field(j, "dev"); d && d->is_object()) {
    e.has_dev = true;
    if (auto* nm = field(*d, "name")) copy_str(*nm, e.ifname);
    e.ifindex = static_cast<uint32_t>(u64_of(d->value("ifindex", json(0))));
    e.rx_ifindex = static_cast<uint32_t>(u64_of(d->value("rx_ifindex", json(0))));
  }
  if (auto* s = field(j, "skb"); s && s->is_object()) {
    e.has_skb = true;
    if (auto* a = field(*s, "addr")) e.skb_addr = u64_of(*a);
    e.len = static_cast<uint32_t>(u64_of(s->value("len", json(0))));
    e.data_len = static_cast<uint32_t>(u64_of(s->value("data_len", json(0))));
    e.mark = static_cast<uint32_t>(u64_of(s->value("mark", json(0))));
    e.protocol = static_cast<uint16_t>(u64_of(s->value("protocol", json(0))));
    // Retis keeps the length under skb.meta.
    if (auto* m = field(*s, "meta"); m && m->is_object()) {
      if (!e.len) e.len = static_cast<uint32_t>(u64_of(m->value("len", json(0))));
      if (!e.data_len) e.data_len = static_cast<uint32_t>(u64_of(m->value("data_len", json(0))));
    }
  }
  if (auto* t = field(j, "skb-tracking"); t && t->is_object()) {
    e.has_tracking = true;
    e.orig_head = u64_of(t->value("orig_head", json(0)));
    e.track_ts = u64_of(t->value("timestamp", json(0)));
    if (auto* a = field(*t, "skb")) e.skb_addr = u64_of(*a);
  }
  if (auto* d = field(j, "skb-drop"); d && d->is_object()) {
    e.has_drop = true;
    if (auto* r = field(*d, "drop_reason"); r && r->is_string())
      e.drop_reason = symbols.intern(r->get_ref<const std::string&>());
    else
      e.drop_reason = symbols.intern("UNKNOWN");
  }
  if (auto* c = field(j, "ct"); c && c->is_object()) {
    e.has_ct = true;
    if (auto* st = field(*c, "state"); st && st->is_string()) e.ct_state = ct_state_of(*st);
    // The connection: under "base" in some files, else the section itself (Retis 1.5 and
    // later flatten it in, next to "state"; its "parent", the master connection, is not read).
    const json* base = field(*c, "base");
    const json& b = base && base->is_object() ? *base : *c;
    if (const json* st = ct_status_of(b, *c)) e.ct_status = static_cast<uint32_t>(u64_of(*st));
    e.ct_zone = static_cast<uint16_t>(u64_of(b.value("zone_id", json(0))));
    e.ct_mark = static_cast<uint32_t>(u64_of(b.value("mark", json(0))));
    if (auto* o = field(b, "orig"); o && o->is_object()) parse_tuple(*o, e.ct_orig);
    if (auto* r = field(b, "reply"); r && r->is_object()) parse_tuple(*r, e.ct_reply);
  }
  if (auto* p = field(j, "packet"); p && p->is_object()) {
    if (auto* d = field(*p, "data"); d && d->is_string()) {
      size_t n = 0;
      if (!base64_decode(d->get_ref<const std::string&>(), e.data.data(), e.data.size(), &n))
        return Error::msg("packet.data is not base64");
      e.has_packet = true;
      e.caplen = static_cast<uint16_t>(n);
      e.l2_len = 14;  // files always start packets at the Ethernet header, as Retis does
      e.wire_len = static_cast<uint32_t>(u64_of(p->value("len", json(n))));
      if (!e.len) e.len = e.wire_len;
      if (!e.protocol && n >= 14) e.protocol = static_cast<uint16_t>(e.data[12] << 8 | e.data[13]);
    }
  }
  return LineKind::event;
}

}  // namespace nscope
