#include "events/reader.h"

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
}  // namespace

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
      if (auto* off = field(*s, "clock_monotonic_offset"); off && off->is_object())
        startup->mono_to_utc_ns = static_cast<int64_t>(u64_of(off->value("sec", json(0)))) *
                                      1000000000 +
                                  static_cast<int64_t>(u64_of(off->value("nsec", json(0))));
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
  if (auto* p = field(j, "packet"); p && p->is_object()) {
    if (auto* d = field(*p, "data"); d && d->is_string()) {
      size_t n = 0;
      if (!base64_decode(d->get_ref<const std::string&>(), e.data.data(), e.data.size(), &n))
        return Error::msg("packet.data is not base64");
      e.has_packet = true;
      e.caplen = static_cast<uint16_t>(n);
      e.l2_len = 14;  // files always start packets at the Ethernet header, as Retis does
      if (!e.len) e.len = static_cast<uint32_t>(u64_of(p->value("len", json(n))));
      if (!e.protocol && n >= 14) e.protocol = static_cast<uint16_t>(e.data[12] << 8 | e.data[13]);
    }
  }
  return LineKind::event;
}

}  // namespace nscope
