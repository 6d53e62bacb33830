#include "netlink/nft_trace.h"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <charconv>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "netlink/nl.h"

namespace nscope {
namespace {

constexpr std::string_view kTablePrefix = "nscope_trace_";

uint32_t be32(const nlattr *a) {
  uint32_t v = 0;
  if (nl::attr_payload_len(a) >= 4)
    std::memcpy(&v, nl::attr_payload(a), 4);
  return ntohl(v);
}

uint64_t be64(const nlattr *a) {
  uint64_t v = 0;
  if (nl::attr_payload_len(a) >= 8)
    std::memcpy(&v, nl::attr_payload(a), 8);
  return be64toh(v);
}

// A string attribute without its terminating NUL.
std::string_view str(const nlattr *a) {
  std::string_view s(static_cast<const char *>(nl::attr_payload(a)),
                     nl::attr_payload_len(a));
  return s.substr(0, s.find('\0'));
}

std::string_view bytes(const nlattr *a) {
  return {static_cast<const char *>(nl::attr_payload(a)),
          nl::attr_payload_len(a)};
}

} // namespace

Result<NftTrace> parse_nft_trace(const void *msg, size_t len) {
  auto *nlh = static_cast<const nlmsghdr *>(msg);
  if (len < sizeof(nlmsghdr) || nlh->nlmsg_len > len ||
      nlh->nlmsg_len < nl::kHdrLen + sizeof(nfgenmsg))
    return Error::msg("truncated nf_tables trace message");
  if (nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE))
    return Error::msg(fmt::format("not an nf_tables trace message (type {:#x})",
                                  nlh->nlmsg_type));
  NftTrace t;
  t.family = static_cast<const nfgenmsg *>(nl::payload(nlh))->nfgen_family;
  bool verdict_ok = true;
  bool ok = nl::parse_attrs(nlh, sizeof(nfgenmsg), [&](const nlattr *a) {
    switch (nl::attr_type(a)) {
    case NFTA_TRACE_TABLE:
      t.table = str(a);
      break;
    case NFTA_TRACE_CHAIN:
      t.chain = str(a);
      break;
    case NFTA_TRACE_RULE_HANDLE:
      t.rule_handle = be64(a);
      break;
    case NFTA_TRACE_TYPE:
      t.type = be32(a);
      break;
    case NFTA_TRACE_ID:
      t.id = be32(a);
      break;
    case NFTA_TRACE_IIF:
      t.iif = be32(a);
      break;
    case NFTA_TRACE_OIF:
      t.oif = be32(a);
      break;
    case NFTA_TRACE_MARK:
      t.mark = be32(a);
      break;
    case NFTA_TRACE_NFPROTO:
      t.nfproto = static_cast<uint8_t>(be32(a));
      break;
    case NFTA_TRACE_POLICY:
      t.has_policy = true;
      t.policy = be32(a);
      break;
    case NFTA_TRACE_LL_HEADER:
      t.ll_header = bytes(a);
      break;
    case NFTA_TRACE_NETWORK_HEADER:
      t.network_header = bytes(a);
      break;
    case NFTA_TRACE_TRANSPORT_HEADER:
      t.transport_header = bytes(a);
      break;
    case NFTA_TRACE_VERDICT:
      verdict_ok = nl::parse_nested(a, [&](const nlattr *v) {
        if (nl::attr_type(v) == NFTA_VERDICT_CODE) {
          t.has_verdict = true;
          t.verdict = static_cast<int32_t>(be32(v));
        } else if (nl::attr_type(v) == NFTA_VERDICT_CHAIN) {
          t.verdict_chain = str(v);
        }
      });
      break;
    default:
      break;
    }
  });
  if (!ok || !verdict_ok)
    return Error::msg("malformed attribute in an nf_tables trace message");
  if (t.table.empty() || t.chain.empty())
    return Error::msg("nf_tables trace message without its table or chain");
  return t;
}

void for_each_nft_trace(const void *buf, size_t len,
                        const std::function<void(Result<NftTrace>)> &fn) {
  int left = static_cast<int>(len);
  for (auto *nlh = static_cast<const nlmsghdr *>(buf); nl::msg_ok(nlh, left);
       nlh = nl::msg_next(nlh, &left)) {
    if (nlh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_TRACE))
      continue;
    fn(parse_nft_trace(nlh, nlh->nlmsg_len));
  }
}

std::string_view nft_family_name(uint8_t family) {
  switch (family) {
  case NFPROTO_INET:
    return "inet";
  case NFPROTO_IPV4:
    return "ip";
  case NFPROTO_IPV6:
    return "ip6";
  case NFPROTO_ARP:
    return "arp";
  case NFPROTO_BRIDGE:
    return "bridge";
  case NFPROTO_NETDEV:
    return "netdev";
  default:
    return "unknown";
  }
}

std::string_view nft_verdict_name(int32_t verdict) {
  switch (verdict) {
  case NF_ACCEPT:
    return "accept";
  case NF_DROP:
    return "drop";
  case NF_STOLEN:
    return "stolen";
  case NF_QUEUE:
    return "queue";
  case NF_REPEAT:
    return "repeat";
  case NF_STOP:
    return "stop";
  case NFT_CONTINUE:
    return "continue";
  case NFT_BREAK:
    return "break";
  case NFT_JUMP:
    return "jump";
  case NFT_GOTO:
    return "goto";
  case NFT_RETURN:
    return "return";
  default:
    // NF_QUEUE with a queue number in the upper bits, NF_DROP with an errno.
    if ((verdict & NF_VERDICT_MASK) == NF_QUEUE)
      return "queue";
    if ((verdict & NF_VERDICT_MASK) == NF_DROP)
      return "drop";
    return "unknown";
  }
}

std::string_view nft_trace_verdict(const NftTrace &t) {
  if (t.type == NFT_TRACETYPE_POLICY && t.has_policy)
    return nft_verdict_name(static_cast<int32_t>(t.policy));
  if (t.has_verdict)
    return nft_verdict_name(t.verdict);
  // A chain's end without a verdict of its own: back to the chain that jumped
  // to it.
  if (t.type == NFT_TRACETYPE_RETURN)
    return "return";
  return "continue";
}

std::string nft_trace_table_name(int pid) {
  return fmt::format("{}{}", kTablePrefix, pid);
}

std::optional<int> nft_trace_table_pid(std::string_view name) {
  if (!name.starts_with(kTablePrefix))
    return std::nullopt;
  name.remove_prefix(kTablePrefix.size());
  int pid = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || end != name.data() + name.size() || pid <= 0)
    return std::nullopt;
  return pid;
}

namespace {

// Builds one batch; each message gets the next sequence number and asks for an
// ack.
class BatchBuilder {
public:
  explicit BatchBuilder(uint32_t seq) : seq_(seq) {
    control(NFNL_MSG_BATCH_BEGIN);
    b_.first_seq = seq_; // the first message's: the acks come for these
  }
  // A message of nf_tables' subsystem; attrs(nlh) appends its attributes.
  template <class Fn> void add(int msg, uint16_t flags, Fn &&attrs) {
    nlmsghdr *nlh =
        start(static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg),
              static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags),
              NFPROTO_INET, 0);
    attrs(nlh);
    finish(nlh);
    ++b_.messages;
  }
  NftBatch done() {
    control(NFNL_MSG_BATCH_END);
    return std::move(b_);
  }

private:
  nlmsghdr *start(uint16_t type, uint16_t flags, uint8_t family,
                  uint16_t res_id) {
    buf_.assign(kMax, '\0');
    nlmsghdr *nlh = nl::put_header(buf_.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq_++;
    auto *g =
        static_cast<nfgenmsg *>(nl::put_extra_header(nlh, sizeof(nfgenmsg)));
    g->nfgen_family = family;
    g->version = NFNETLINK_V0;
    g->res_id = htons(res_id);
    return nlh;
  }
  void finish(nlmsghdr *nlh) {
    b_.bytes.append(buf_.data(), nl::align(nlh->nlmsg_len));
  }
  void control(int type) {
    finish(start(static_cast<uint16_t>(type), NLM_F_REQUEST, AF_UNSPEC,
                 NFNL_SUBSYS_NFTABLES));
  }

  static constexpr size_t kMax = 1024; // every message here is far smaller
  std::string buf_;
  uint32_t seq_;
  NftBatch b_;
};

void put_be32(nlmsghdr *nlh, uint16_t type, uint32_t v) {
  nl::attr_put_u32(nlh, type, htonl(v));
}

// One expression: NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA { data(nlh) }
// }.
template <class Fn> void put_expr(nlmsghdr *nlh, const char *name, Fn &&data) {
  nlattr *elem = nl::nest_start(nlh, NFTA_LIST_ELEM);
  nl::attr_put_strz(nlh, NFTA_EXPR_NAME, name);
  nlattr *d = nl::nest_start(nlh, NFTA_EXPR_DATA);
  data(nlh);
  nl::nest_end(nlh, d);
  nl::nest_end(nlh, elem);
}

// The first priority a hook has (NF_IP_PRI_FIRST is INT_MIN): every other
// chain, raw and conntrack included, sees the packet after nftrace is set.
constexpr int32_t kFirstPriority = INT_MIN + 1;

} // namespace

namespace {

// meta nftrace set 1: an immediate 1 into register 1, then meta's nftrace from it.
void put_nftrace_set(nlmsghdr *nlh) {
  put_expr(nlh, "immediate", [](nlmsghdr *n) {
    put_be32(n, NFTA_IMMEDIATE_DREG, NFT_REG_1);
    nlattr *data = nl::nest_start(n, NFTA_IMMEDIATE_DATA);
    uint8_t one = 1;
    nl::attr_put(n, NFTA_DATA_VALUE, 1, &one);
    nl::nest_end(n, data);
  });
  put_expr(nlh, "meta", [](nlmsghdr *n) {
    put_be32(n, NFTA_META_KEY, NFT_META_NFTRACE);
    put_be32(n, NFTA_META_SREG, NFT_REG_1);
  });
}

} // namespace

NftBatch nft_trace_switch_batch(std::string_view name, uint32_t seq) {
  std::string table(name);
  BatchBuilder b(seq);
  b.add(NFT_MSG_NEWTABLE, NLM_F_CREATE, [&](nlmsghdr *nlh) {
    nl::attr_put_strz(nlh, NFTA_TABLE_NAME, table.c_str());
  });
  b.add(NFT_MSG_NEWCHAIN, NLM_F_CREATE, [&](nlmsghdr *nlh) {
    nl::attr_put_strz(nlh, NFTA_CHAIN_TABLE, table.c_str());
    nl::attr_put_strz(nlh, NFTA_CHAIN_NAME, "trace_switch");
  });
  b.add(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, [&](nlmsghdr *nlh) {
    nl::attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
    nl::attr_put_strz(nlh, NFTA_RULE_CHAIN, "trace_switch");
    nlattr *exprs = nl::nest_start(nlh, NFTA_RULE_EXPRESSIONS);
    put_nftrace_set(nlh);
    nl::nest_end(nlh, exprs);
  });
  return b.done();
}

NftBatch nft_trace_table_batch(std::string_view name, uint32_t seq) {
  std::string table(name);
  BatchBuilder b(seq);
  b.add(NFT_MSG_NEWTABLE, NLM_F_CREATE, [&](nlmsghdr *nlh) {
    nl::attr_put_strz(nlh, NFTA_TABLE_NAME, table.c_str());
  });
  for (auto chain_hook : {std::pair{"prerouting", NF_INET_PRE_ROUTING},
                          std::pair{"output", NF_INET_LOCAL_OUT}}) {
    // Not a structured binding: clang before 16 (the fuzz build) cannot capture one.
    const char *chain = chain_hook.first;
    auto hook = chain_hook.second;
    b.add(NFT_MSG_NEWCHAIN, NLM_F_CREATE, [&](nlmsghdr *nlh) {
      nl::attr_put_strz(nlh, NFTA_CHAIN_TABLE, table.c_str());
      nl::attr_put_strz(nlh, NFTA_CHAIN_NAME, chain);
      nlattr *h = nl::nest_start(nlh, NFTA_CHAIN_HOOK);
      put_be32(nlh, NFTA_HOOK_HOOKNUM, static_cast<uint32_t>(hook));
      put_be32(nlh, NFTA_HOOK_PRIORITY, static_cast<uint32_t>(kFirstPriority));
      nl::nest_end(nlh, h);
      nl::attr_put_strz(nlh, NFTA_CHAIN_TYPE, "filter");
      put_be32(nlh, NFTA_CHAIN_POLICY, NF_ACCEPT);
    });
    // meta nftrace set 1: an immediate 1 into register 1, then meta's nftrace
    // from it.
    b.add(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, [&](nlmsghdr *nlh) {
      nl::attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
      nl::attr_put_strz(nlh, NFTA_RULE_CHAIN, chain);
      nlattr *exprs = nl::nest_start(nlh, NFTA_RULE_EXPRESSIONS);
      put_nftrace_set(nlh);
      // accept: the rule's own trace ends this chain, without a second one for
      // its policy (a message fewer per packet and hook; accept ends only this
      // chain).
      put_expr(nlh, "immediate", [](nlmsghdr *n) {
        put_be32(n, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
        nlattr *data = nl::nest_start(n, NFTA_IMMEDIATE_DATA);
        nlattr *v = nl::nest_start(n, NFTA_DATA_VERDICT);
        put_be32(n, NFTA_VERDICT_CODE, NF_ACCEPT);
        nl::nest_end(n, v);
        nl::nest_end(n, data);
      });
      nl::nest_end(nlh, exprs);
    });
  }
  return b.done();
}

NftBatch nft_delete_table_batch(std::string_view name, uint32_t seq) {
  std::string table(name);
  BatchBuilder b(seq);
  b.add(NFT_MSG_DELTABLE, 0, [&](nlmsghdr *nlh) {
    nl::attr_put_strz(nlh, NFTA_TABLE_NAME, table.c_str());
  });
  return b.done();
}

} // namespace nscope
