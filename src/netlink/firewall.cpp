#include "netlink/firewall.h"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "netlink/nl.h"
#include "netlink/socket.h"
#include "util/fd.h"
#include "util/strings.h"

namespace nscope {
namespace {

std::string fmt_error(const char* fam, std::string_view table, int err) {
  return std::string("cannot read ") + fam + " iptables table " + std::string(table) + ": " + strerror(err);
}

std::string nfproto_name(uint8_t f) {
  switch (f) {
    case NFPROTO_INET: return "inet";
    case NFPROTO_IPV4: return "ip";
    case NFPROTO_ARP: return "arp";
    case NFPROTO_NETDEV: return "netdev";
    case NFPROTO_BRIDGE: return "bridge";
    case NFPROTO_IPV6: return "ip6";
    default: return std::to_string(f);
  }
}

std::string hook_name(const std::string& family, uint32_t hook) {
  if (family == "netdev") return hook == 0 ? "ingress" : hook == 1 ? "egress" : std::to_string(hook);
  if (family == "arp") return hook == 0 ? "input" : hook == 1 ? "output" : hook == 2 ? "forward" : std::to_string(hook);
  static const char* inet[] = {"prerouting", "input", "forward", "output", "postrouting", "ingress"};
  return hook < 6 ? inet[hook] : std::to_string(hook);
}

struct NlAttrs {
  const nlattr* tb[32] = {};
  void add(const nlattr* a) {
    uint16_t t = nl::attr_type(a);
    if (t < 32) tb[t] = a;
  }
};
Result<NlAttrs> attrs_of(const nlmsghdr* nlh) {
  NlAttrs a;
  if (nlh->nlmsg_len < nl::kHdrLen + sizeof(nfgenmsg)) return Error::msg("truncated nf_tables message");
  if (!nl::parse_attrs(nlh, sizeof(nfgenmsg), [&](const nlattr* x) { a.add(x); }))
    return Error::msg("malformed nf_tables attributes");
  return a;
}
std::string str(const nlattr* a) {
  if (!a) return {};
  const char* p = static_cast<const char*>(nl::attr_payload(a));
  return std::string(p, strnlen(p, nl::attr_payload_len(a)));
}
uint32_t be32(const nlattr* a) {
  if (!a || nl::attr_payload_len(a) < 4) return 0;
  uint32_t v;
  std::memcpy(&v, nl::attr_payload(a), 4);
  return ntohl(v);
}
uint64_t be64(const nlattr* a) {
  if (!a || nl::attr_payload_len(a) < 8) return 0;
  uint64_t v;
  std::memcpy(&v, nl::attr_payload(a), 8);
  return be64toh(v);
}
uint8_t msg_family(const nlmsghdr* nlh) {
  return static_cast<const nfgenmsg*>(nl::payload(nlh))->nfgen_family;
}
uint16_t nft_type(int msg) { return static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg); }

FwTable* find_table(std::vector<FwTable>& ts, const std::string& family, const std::string& name) {
  for (auto& t : ts)
    if (t.backend == "nft" && t.family == family && t.name == name) return &t;
  return nullptr;
}

}  // namespace

Result<std::string> nft_dump(NlSocket& s, int msg) {
  char buf[256];
  nlmsghdr* nlh = nl::put_header(buf);
  nlh->nlmsg_type = nft_type(msg);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* g = static_cast<nfgenmsg*>(nl::put_extra_header(nlh, sizeof(nfgenmsg)));
  g->nfgen_family = NFPROTO_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = 0;
  return s.request(nlh, "nf_tables dump");
}

namespace {

// Without module support every netfilter part is built in; with it, asking nfnetlink for a
// subsystem that is not loaded would load it, which a read-only tool must not do.
bool nf_tables_present() {
  if (access("/proc/modules", F_OK) != 0) return true;
  return access("/sys/module/nf_tables", F_OK) == 0;
}

// ---- legacy xtables --------------------------------------------------------------------

template <class Entry, class GetInfo, class GetEntries>
void read_xtables(int family, int level, int so_info, int so_entries, const char* names_file,
                  const char* fam_name, Firewall& fw) {
  auto names = read_file(std::string("/proc/thread-self/net/") + names_file);
  if (!names) return;  // the module is not loaded (or not built): no legacy tables here
  if (trim(*names).empty()) return;
  Fd s(::socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!s) {
    fw.notes.push_back(std::string("cannot open a raw socket to read ") + fam_name + " iptables: " + strerror(errno));
    return;
  }
  static const char* hooks[] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};
  for (auto name : split(*names, '\n')) {
    name = trim(name);
    if (name.empty() || name.size() >= XT_TABLE_MAXNAMELEN) continue;
    GetInfo info{};
    std::memcpy(info.name, name.data(), name.size());
    socklen_t len = sizeof info;
    if (getsockopt(s.get(), level, so_info, &info, &len) != 0) {
      fw.notes.push_back(fmt_error(fam_name, name, errno));
      continue;
    }
    FwTable t;
    t.backend = "iptables-legacy";
    t.family = fam_name;
    t.name = std::string(name);
    std::vector<char> blob(sizeof(GetEntries) + info.size);
    auto* ge = reinterpret_cast<GetEntries*>(blob.data());
    std::memcpy(ge->name, info.name, sizeof info.name);
    ge->size = info.size;
    len = static_cast<socklen_t>(blob.size());
    if (getsockopt(s.get(), level, so_entries, ge, &len) != 0) {
      fw.notes.push_back(fmt_error(fam_name, name, errno));
      continue;
    }
    // A builtin chain starts at its hook's entry point; a user chain right after the ERROR
    // entry that names it; the table ends with an ERROR entry named "ERROR". Each chain ends
    // with its policy (builtin) or RETURN (user) entry, which is not counted as a rule.
    std::vector<size_t> offsets;       // every entry
    std::vector<size_t> bounds;        // hook entry points and ERROR entries
    std::vector<std::pair<size_t, std::string>> user;  // ERROR entry offset, chain name
    const char* base = reinterpret_cast<const char*>(ge->entrytable);
    for (size_t off = 0; off + sizeof(Entry) <= info.size;) {
      auto* e = reinterpret_cast<const Entry*>(base + off);
      if (e->next_offset < sizeof(Entry) || off + e->next_offset > info.size) break;
      offsets.push_back(off);
      auto* tgt = reinterpret_cast<const xt_entry_target*>(base + off + e->target_offset);
      if (std::strcmp(tgt->u.user.name, "ERROR") == 0) {
        bounds.push_back(off);
        const char* chain = reinterpret_cast<const char*>(tgt->data);
        size_t max = tgt->u.target_size > sizeof(xt_entry_target) ? tgt->u.target_size - sizeof(xt_entry_target) : 0;
        std::string cname(chain, strnlen(chain, max));
        if (cname != "ERROR") user.emplace_back(off, cname);
      }
      off += e->next_offset;
    }
    for (unsigned h = 0; h < NF_INET_NUMHOOKS; ++h)
      if (info.valid_hooks & (1u << h)) bounds.push_back(info.hook_entry[h]);
    std::sort(bounds.begin(), bounds.end());
    auto count = [&](size_t from, bool inclusive) {
      auto nb = std::upper_bound(bounds.begin(), bounds.end(), from);
      size_t end = nb == bounds.end() ? info.size : *nb;
      size_t n = static_cast<size_t>(std::count_if(offsets.begin(), offsets.end(), [&](size_t o) {
        return (inclusive ? o >= from : o > from) && o < end;
      }));
      return static_cast<uint32_t>(n > 0 ? n - 1 : 0);
    };
    for (unsigned h = 0; h < NF_INET_NUMHOOKS; ++h) {
      if (!(info.valid_hooks & (1u << h))) continue;
      FwChain c;
      c.name = hooks[h];
      c.hook = c.name;
      for (auto& ch : c.hook) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      c.rules = count(info.hook_entry[h], true);
      t.chains.push_back(std::move(c));
    }
    for (auto& [off, cname] : user) {
      FwChain c;
      c.name = cname;
      c.rules = count(off, false);
      t.chains.push_back(std::move(c));
    }
    fw.tables.push_back(std::move(t));
  }
}

}  // namespace

Result<void> parse_nft_tables(const void* buf, size_t len, std::vector<FwTable>& out) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != nft_type(NFT_MSG_NEWTABLE)) return {};
    auto a = attrs_of(nlh);
    if (!a) return a.error();
    FwTable t;
    t.backend = "nft";
    t.family = nfproto_name(msg_family(nlh));
    t.name = str(a->tb[NFTA_TABLE_NAME]);
    t.flags = be32(a->tb[NFTA_TABLE_FLAGS]);
    t.handle = static_cast<int64_t>(be64(a->tb[NFTA_TABLE_HANDLE]));
    out.push_back(std::move(t));
    return {};
  });
}

Result<void> parse_nft_chains(const void* buf, size_t len, std::vector<FwTable>& tables) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != nft_type(NFT_MSG_NEWCHAIN)) return {};
    auto a = attrs_of(nlh);
    if (!a) return a.error();
    std::string family = nfproto_name(msg_family(nlh));
    FwTable* t = find_table(tables, family, str(a->tb[NFTA_CHAIN_TABLE]));
    if (!t) return {};
    FwChain c;
    c.name = str(a->tb[NFTA_CHAIN_NAME]);
    c.type = str(a->tb[NFTA_CHAIN_TYPE]);
    c.handle = static_cast<int64_t>(be64(a->tb[NFTA_CHAIN_HANDLE]));
    if (a->tb[NFTA_CHAIN_HOOK]) {
      NlAttrs h;
      nl::parse_nested(a->tb[NFTA_CHAIN_HOOK], [&](const nlattr* x) { h.add(x); });
      c.hook = hook_name(family, be32(h.tb[NFTA_HOOK_HOOKNUM]));
      c.priority = static_cast<int32_t>(be32(h.tb[NFTA_HOOK_PRIORITY]));
    }
    if (a->tb[NFTA_CHAIN_POLICY]) c.policy = be32(a->tb[NFTA_CHAIN_POLICY]) == NF_ACCEPT ? "accept" : "drop";
    t->chains.push_back(std::move(c));
    return {};
  });
}

Result<void> parse_nft_rules(const void* buf, size_t len, std::vector<FwTable>& tables) {
  return for_each_message(buf, len, [&](const nlmsghdr* nlh) -> Result<void> {
    if (nlh->nlmsg_type != nft_type(NFT_MSG_NEWRULE)) return {};
    auto a = attrs_of(nlh);
    if (!a) return a.error();
    FwTable* t = find_table(tables, nfproto_name(msg_family(nlh)), str(a->tb[NFTA_RULE_TABLE]));
    if (!t) return {};
    std::string chain = str(a->tb[NFTA_RULE_CHAIN]);
    for (auto& c : t->chains)
      if (c.name == chain) ++c.rules;
    return {};
  });
}

Result<std::string> nft_dump_raw(int msg_type) {
  auto s = NlSocket::open(NETLINK_NETFILTER);
  if (!s) return s.error();
  return nft_dump(*s, msg_type);
}

Firewall read_firewall() {
  Firewall fw;
  if (!nf_tables_present()) {
    fw.notes.push_back("nf_tables is not loaded: no nft tables");
  } else if (auto s = NlSocket::open(NETLINK_NETFILTER); !s) {
    fw.notes.push_back("nf_tables: " + s.error().message);
  } else {
    std::vector<FwTable> tables;
    auto t = nft_dump(*s, NFT_MSG_GETTABLE);
    Result<void> r = t ? parse_nft_tables(t->data(), t->size(), tables) : Result<void>(t.error());
    if (r && !tables.empty()) {
      auto c = nft_dump(*s, NFT_MSG_GETCHAIN);
      r = c ? parse_nft_chains(c->data(), c->size(), tables) : Result<void>(c.error());
      if (r) {
        auto rl = nft_dump(*s, NFT_MSG_GETRULE);
        r = rl ? parse_nft_rules(rl->data(), rl->size(), tables) : Result<void>(rl.error());
      }
    }
    if (!r) fw.notes.push_back("nf_tables: " + r.error().message);
    for (auto& tb : tables) fw.tables.push_back(std::move(tb));
  }
  read_xtables<ipt_entry, ipt_getinfo, ipt_get_entries>(AF_INET, IPPROTO_IP, IPT_SO_GET_INFO,
                                                        IPT_SO_GET_ENTRIES, "ip_tables_names", "ip", fw);
  read_xtables<ip6t_entry, ip6t_getinfo, ip6t_get_entries>(AF_INET6, IPPROTO_IPV6, IP6T_SO_GET_INFO,
                                                           IP6T_SO_GET_ENTRIES, "ip6_tables_names", "ip6", fw);
  return fw;
}

}  // namespace nscope
