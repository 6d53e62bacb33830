#include "serve/access.h"

#include <arpa/inet.h>
#include <sys/random.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

#include "util/strings.h"

namespace nscope::serve {

Result<std::string> random_token() {
  unsigned char b[16];
  if (getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) return Error::sys(errno, "getrandom");
  std::string t;
  for (unsigned char c : b) t += fmt::format("{:02x}", c);
  return t;
}

bool token_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || a.empty()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::string token_cookie_name(int port) { return fmt::format("nscope_token_{}", port); }

std::string token_of(std::string_view query_token, std::string_view cookie_header,
                     std::string_view authorization, std::string_view cookie) {
  if (!query_token.empty()) return std::string(query_token);
  if (authorization.starts_with("Token ")) return std::string(trim(authorization.substr(6)));
  while (!cookie_header.empty()) {
    size_t semi = cookie_header.find(';');
    std::string_view kv = trim(cookie_header.substr(0, semi));
    cookie_header = semi == std::string_view::npos ? std::string_view() : cookie_header.substr(semi + 1);
    if (kv.size() > cookie.size() && kv.starts_with(cookie) && kv[cookie.size()] == '=')
      return std::string(kv.substr(cookie.size() + 1));
  }
  return {};
}

Result<ListenAddress> parse_listen(std::string_view text) {
  ListenAddress a;
  std::string_view host, port = text;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Error::usage(fmt::format("--listen '{}': give [IPV6]:PORT", text));
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  int p = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535)
    return Error::usage(fmt::format("--listen '{}': the port must be a number from 0 to 65535", text));
  a.port = p;
  a.host = host.empty() ? "127.0.0.1" : std::string(host);
  unsigned char buf[16];
  if (inet_pton(AF_INET, a.host.c_str(), buf) == 1) {
    a.loopback = buf[0] == 127;
    a.any = a.host == "0.0.0.0";
  } else if (inet_pton(AF_INET6, a.host.c_str(), buf) == 1) {
    static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char any[16] = {};
    a.loopback = std::equal(buf, buf + 16, lo);
    a.any = std::equal(buf, buf + 16, any);
  } else {
    return Error::usage(fmt::format("--listen '{}': give a numeric address (127.0.0.1, ::1, 0.0.0.0)", text));
  }
  return a;
}

std::vector<std::string> allowed_hosts(const ListenAddress& a, int port, const std::vector<std::string>& extra) {
  std::vector<std::string> hosts;
  auto add = [&](std::string_view h) {
    hosts.push_back(fmt::format("{}:{}", h, port));
    if (port == 80) hosts.emplace_back(h);  // browsers leave the default port out
  };
  if (a.host.find(':') != std::string::npos) add("[" + a.host + "]");
  else add(a.host);
  if (a.loopback || a.any) {  // 0.0.0.0 is reached from this host as localhost too
    add("localhost");
    if (a.host != "127.0.0.1") add("127.0.0.1");
  }
  for (const auto& h : extra) add(h);
  return hosts;
}

bool host_allowed(std::string_view host_header, const std::vector<std::string>& allowed) {
  for (const auto& h : allowed)
    if (h.size() == host_header.size() && std::equal(h.begin(), h.end(), host_header.begin(), [](char x, char y) {
          return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
        }))
      return true;
  return false;
}

}  // namespace nscope::serve
