// Who may talk to `nscope serve`: the token every request carries (printed in the URL at
// start, as Jupyter does) and the Host header it must name (a page on another site cannot
// reach a loopback server by rebinding its own name to 127.0.0.1). Pure, for unit tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace nscope::serve {

// 32 hex digits from getrandom().
Result<std::string> random_token();

// Equal, in time that does not depend on where they differ.
bool token_equal(std::string_view a, std::string_view b);

// The cookie that carries the token once the page was opened with ?token=: named with the
// port, since browsers share cookies between the ports of one host.
std::string token_cookie_name(int port);

// The token a request carries: ?token=, an `Authorization: Token T` header, or the cookie
// named `cookie`; empty when none.
std::string token_of(std::string_view query_token, std::string_view cookie_header,
                     std::string_view authorization, std::string_view cookie);

struct ListenAddress {
  std::string host;  // numeric: 127.0.0.1, ::1, 0.0.0.0
  int port = 0;
  bool loopback = false;
  bool any = false;  // 0.0.0.0 or ::
};

// "127.0.0.1:8080", "[::1]:8080", "8080" (loopback), ":8080"; port 0: any free port.
Result<ListenAddress> parse_listen(std::string_view text);

// The Host header values a request may carry once the server listens on `a` at `port`:
// the address itself, and localhost's names for a loopback one, plus `extra` host names
// (--allow-host), each with the port.
std::vector<std::string> allowed_hosts(const ListenAddress& a, int port, const std::vector<std::string>& extra);
bool host_allowed(std::string_view host_header, const std::vector<std::string>& allowed);

}  // namespace nscope::serve
