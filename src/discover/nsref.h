// Namespace references: every name a user has for a network namespace, resolved to the
// namespace and, where one can be opened, an fd to it. Used by every command that takes a
// namespace (show, collect --netns, ...).
//
//   NAME              an `ip netns` name (wins over a container of the same name)
//   4026532281        an inode (inode:N too)
//   id:N              NS_GET_ID
//   cookie:N          SO_NETNS_COOKIE / net->net_cookie
//   pid:N             the network namespace of process N (/proc/N/ns/net)
//   /path             an nsfs file: /proc/PID/ns/net, /run/netns/NAME, any bind mount
//   container:X       a container id prefix, name or pod name (X alone works too when it is
//                     not an `ip netns` name)
//   netns:NAME        an `ip netns` name and nothing else
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discover/model.h"
#include "util/fd.h"
#include "util/result.h"

namespace nscope {

enum class NsRefKind : uint8_t { word, name, inode, id, cookie, pid, path, container };
std::string_view nsref_kind_name(NsRefKind k);

struct NsRef {
  NsRefKind kind = NsRefKind::word;
  std::string text;     // name, path, container text, or the word as typed
  uint64_t number = 0;  // inode, id, cookie, pid
};

// Pure: the syntax only. A bare number is an inode; a bare word is `word` (an `ip netns` name
// or else a container). Errors (code EINVAL): empty, "id:" without a number, ...
Result<NsRef> parse_nsref(std::string_view ref);

// Pure: a list of references as --netns takes them, each item split at commas, blanks around
// a part ignored: all to keep ("a,b"), or all to leave out ("!a,!b"); mixing the two is a
// usage error, as is any part parse_nsref refuses.
struct NsRefList {
  bool exclude = false;
  std::vector<NsRef> refs;
};
Result<NsRefList> parse_nsref_list(const std::vector<std::string>& items);

// Why a reference did not resolve to exactly one namespace.
enum class NsRefError : uint8_t { invalid, unknown, ambiguous };
struct NsRefFailure {
  NsRefError kind = NsRefError::unknown;
  std::string message;                  // "no network namespace named 'x'"
  std::vector<std::string> candidates;  // what the user may have meant / what matched
};
// The Error a failure becomes: code EINVAL (invalid), ENOENT (unknown), ENOTUNIQ
// (ambiguous); its message ends with the candidates, one per line.
Error nsref_error(const NsRefFailure& f);
// The kind of an Error made by nsref_error, or nullopt for any other error.
std::optional<NsRefError> nsref_error_kind(const Error& e);

struct ResolvedNs {
  Namespace ns;           // from the scan; on the direct path: inode, id, names only
  Fd fd;                  // an nsfs fd to it, invalid when none could be opened
  std::string opened_from;  // the path fd was opened from
  NsRefKind matched_as = NsRefKind::word;
  bool from_scan = false;
};

// Resolves against a scan of network namespaces (scan_namespaces with types {net}). On
// failure, *why (when given) holds the kind and candidates; the Error says the same.
Result<ResolvedNs> resolve_nsref(std::string_view ref, const ScanResult& scan,
                                 NsRefFailure* why = nullptr);
Result<ResolvedNs> resolve_nsref(const NsRef& ref, const ScanResult& scan,
                                 NsRefFailure* why = nullptr);

// Without a scan: an `ip netns` name, pid:N or a path opens directly (a few syscalls). nullopt
// when this reference needs a scan (inode, id, cookie, container, or a word that is not an
// `ip netns` name); an Error when it names something that does not exist or is not a network
// namespace.
Result<std::optional<ResolvedNs>> resolve_nsref_direct(const NsRef& ref);

// What every command that takes an NSREF does: an `ip netns` name, pid:N or a path opens at
// once; anything else, a pid whose /proc/PID/ns/net is refused, or a pid or path that names
// nothing (the error then lists the namespaces there are), is resolved against `scan()`,
// called only then.
Result<ResolvedNs> resolve_nsref_lazily(const NsRef& ref, const std::function<const ScanResult&()>& scan,
                                        NsRefFailure* why = nullptr);

// Opens a namespace found by a scan through its holders: /run/netns names, the lowest process,
// threads, bind mounts (through a process in their mount namespace), open fds. The fd is
// checked to be that namespace (same inode). *from gets the path used.
Result<Fd> open_netns(const Namespace& ns, std::string* from = nullptr);

// "4026532281 (name web, container runc:web, pid 4711)": a namespace for candidate lists.
std::string describe_netns(const Namespace& ns);

}  // namespace nscope
