#include "events/format.h"

#include <ctime>

#include <fmt/format.h>

namespace nscope {

void format_event_text(const Event& e, const TextOptions& opt, std::string& out,
                       std::string_view indent) {
  auto o = std::back_inserter(out);
  out += indent;
  if (opt.utc) {
    int64_t wall = static_cast<int64_t>(e.ts) + opt.mono_to_utc_ns;
    time_t sec = static_cast<time_t>(wall / 1000000000);
    struct tm tm {};
    gmtime_r(&sec, &tm);
    fmt::format_to(o, "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:09}", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   wall % 1000000000);
  } else {
    fmt::format_to(o, "{}", e.ts);
  }
  if (e.has_task) fmt::format_to(o, " [{}] {}", fixed_str(e.comm), e.tgid);
  std::string_view kind = e.probe_type == "raw_tracepoint" || e.probe_type == "tracepoint"
                              ? "tp"
                          : e.probe_type == "kprobe" ? "k"
                          : e.probe_type == "fentry" ? "f" : e.probe_type;
  fmt::format_to(o, " [{}] {}\n", kind, e.symbol);

  if (e.has_dev || e.has_packet) {
    out += indent;
    out += "  ";
    if (e.has_dev) {
      fmt::format_to(o, "if {} ({})", e.ifindex, fixed_str(e.ifname));
      if (e.rx_ifindex && e.rx_ifindex != e.ifindex) fmt::format_to(o, " rxif {}", e.rx_ifindex);
    }
    if (e.has_packet) {
      if (e.has_dev) out += ' ';
      format_packet({e.data.data(), e.caplen}, e.l2_len, e.protocol, {opt.ethernet}, out);
    } else if (e.has_skb) {
      fmt::format_to(o, " len {}", e.len);
    }
    out += '\n';
  }
  if (e.has_netns) {
    out += indent;
    fmt::format_to(o, "  netns {}", e.netns_inum);
    if (e.netns_cookie) fmt::format_to(o, " cookie {}", e.netns_cookie);
    if (opt.names) {
      auto it = opt.names->find(e.netns_inum);
      if (it != opt.names->end()) fmt::format_to(o, " ({})", it->second);
    }
    out += '\n';
  }
}

void json_escape(std::string_view s, std::string& out) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c >= 0x7f) fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        else out += ch;
    }
  }
  out += '"';
}

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// JSON numbers above 2^53 lose precision in JavaScript: write those as strings.
void put_u64(uint64_t v, std::string& out) {
  if (v > (1ULL << 53)) fmt::format_to(std::back_inserter(out), "\"{}\"", v);
  else fmt::format_to(std::back_inserter(out), "{}", v);
}
}  // namespace

void base64_encode(const uint8_t* d, size_t n, std::string& out) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = static_cast<uint32_t>(d[i]) << 16 | static_cast<uint32_t>(d[i + 1]) << 8 | d[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = static_cast<uint32_t>(d[i]) << 16;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (n - i == 2) {
    uint32_t v = static_cast<uint32_t>(d[i]) << 16 | static_cast<uint32_t>(d[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
}

bool base64_decode(std::string_view in, uint8_t* out, size_t cap, size_t* len) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = val(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < cap) out[n] = static_cast<uint8_t>(acc >> bits);
      ++n;
    }
  }
  *len = n < cap ? n : cap;
  return true;
}

void format_event_json(const Event& e, std::string& out) {
  auto o = std::back_inserter(out);
  fmt::format_to(o, "{{\"common\":{{\"timestamp\":{},\"smp_id\":{}", e.ts, e.cpu);
  if (e.has_task) {
    fmt::format_to(o, ",\"task\":{{\"pid\":{},\"tgid\":{},\"comm\":", e.pid, e.tgid);
    json_escape(fixed_str(e.comm), out);
    out += '}';
  }
  out += "},\"kernel\":{\"probe_type\":";
  json_escape(e.probe_type, out);
  out += ",\"symbol\":";
  json_escape(e.symbol, out);
  out += '}';
  if (e.has_netns) {
    fmt::format_to(o, ",\"netns\":{{\"inum\":{}", e.netns_inum);
    if (e.netns_cookie) {
      out += ",\"cookie\":";
      put_u64(e.netns_cookie, out);
    }
    out += '}';
  }
  if (e.has_dev) {
    out += ",\"dev\":{\"name\":";
    json_escape(fixed_str(e.ifname), out);
    fmt::format_to(o, ",\"ifindex\":{}", e.ifindex);
    if (e.rx_ifindex) fmt::format_to(o, ",\"rx_ifindex\":{}", e.rx_ifindex);
    out += '}';
  }
  if (e.has_skb) {
    fmt::format_to(o, ",\"skb\":{{\"addr\":\"{:#x}\",\"len\":{},\"data_len\":{},\"mark\":{},"
                      "\"protocol\":{}}}",
                   e.skb_addr, e.len, e.data_len, e.mark, e.protocol);
  }
  if (e.has_packet) {
    fmt::format_to(o, ",\"packet\":{{\"len\":{},\"capture_len\":{},\"data\":\"", e.len, e.caplen);
    base64_encode(e.data.data(), e.caplen, out);
    out += "\"}";
  }
  out += '}';
}

}  // namespace nscope
