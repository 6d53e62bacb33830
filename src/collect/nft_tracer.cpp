#include "collect/nft_tracer.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

#include <fmt/format.h>

#include "collect/writer.h"
#include "discover/netns.h"
#include "discover/nsref.h"
#include "netlink/firewall.h"
#include "netlink/nl.h"
#include "netlink/socket.h"
#include "util/diag.h"

namespace nscope {
namespace {

uint64_t mono_now() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull +
         static_cast<uint64_t>(t.tv_nsec);
}

// FNV-1a, over the pieces that identify a packet.
struct Hash {
  uint64_t h = 1469598103934665603ull;
  void add(std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  }
};

} // namespace

uint64_t nft_packet_key(std::string_view l3, std::string_view l4) {
  if (l3.empty())
    return 0;
  Hash h;
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(l3[i]); };
  if ((u8(0) >> 4) == 4 && l3.size() >= 20) {
    size_t ihl = (u8(0) & 0xf) * 4u;
    h.add(l3.substr(12, 8)); // addresses
    h.add(l3.substr(9, 1));  // protocol
    h.add(l3.substr(4, 4));  // id, fragment offset
    if (l4.empty() && l3.size() > ihl)
      l4 = l3.substr(ihl);
  } else if ((u8(0) >> 4) == 6 && l3.size() >= 40) {
    h.add(l3.substr(8, 32)); // addresses
    h.add(l3.substr(6, 1));  // next header
    h.add(l3.substr(1, 5));  // flow label, payload length
    if (l4.empty())
      l4 = l3.substr(40);
  } else {
    return 0;
  }
  h.add(l4.substr(0, 8));
  return h.h ? h.h : 1;
}

void NftJoiner::note(const Event &e) {
  if (!e.has_packet || !e.has_netns || e.caplen <= e.l2_len)
    return;
  std::string_view l3(reinterpret_cast<const char *>(e.data.data()) + e.l2_len,
                      e.caplen - e.l2_len);
  uint64_t key = nft_packet_key(l3, {});
  if (!key)
    return;
  Seen s{e.ts,       e.ts,        e.netns_inum, e.has_tracking,
         e.track_ts, e.orig_head, e.skb_addr,   0};
  std::lock_guard lk(mu_);
  auto &v = seen_[key];
  // A packet seen at several probes in one namespace needs one entry there: the
  // latest.
  if (!v.empty() && v.back().netns == s.netns &&
      v.back().tracked == s.tracked && v.back().track_ts == s.track_ts &&
      v.back().orig_head == s.orig_head) {
    v.back().ts = s.ts;
  } else {
    v.push_back(s);
    if (v.size() > 16)
      v.erase(v.begin());
  }
  order_.emplace_back(e.ts, key);
  expire(e.ts);
}

// Under mu_: forgets what was noted more than keep_ before `now`.
void NftJoiner::expire(uint64_t now) {
  while (!order_.empty() && order_.front().first + keep_ < now) {
    auto it = seen_.find(order_.front().second);
    if (it != seen_.end()) {
      auto &v = it->second;
      while (!v.empty() && v.front().ts + keep_ < now)
        v.erase(v.begin());
      if (v.empty())
        seen_.erase(it);
    }
    order_.pop_front();
  }
}

void NftJoiner::add(Trace t) { pending_.push_back(std::move(t)); }

// The packet event with the same key nearest in time, in the trace's namespace
// if there is one there (the hook runs there), else anywhere within keep_.
std::optional<NftJoiner::Seen> NftJoiner::match(const Trace &t) {
  if (!t.key)
    return std::nullopt;
  std::lock_guard lk(mu_);
  auto it = seen_.find(t.key);
  if (it == seen_.end())
    return std::nullopt;
  Seen *best = nullptr;
  uint64_t best_d = 0;
  bool best_here = false;
  for (Seen &s : it->second) {
    uint64_t d = s.ts > t.ts ? s.ts - t.ts : t.ts - s.ts;
    if (d > keep_)
      continue;
    bool here = s.netns == t.netns;
    if (!best || (here && !best_here) || (here == best_here && d < best_d)) {
      best = &s;
      best_d = d;
      best_here = here;
    }
  }
  if (!best)
    return std::nullopt;
  ++best->traces;
  return *best;
}

// ---- the tracer
// -------------------------------------------------------------------------

struct NftTracer::Ns {
  NftTarget target;
  std::optional<NlSocket> cmd, trace;
  bool installed = false;
  // "family table" and "family table chain" -> handle, refreshed when a name is
  // missing
  std::unordered_map<std::string, int64_t> handles;
  uint64_t handles_read = 0; // when, monotonic ns; 0 never
  uint32_t drops = 0;        // the trace socket's sk_drops when last read
};

namespace {

// Sends a batch and waits for its acks; the first error, named by `what`.
Result<void> run_batch(NlSocket &s, const NftBatch &b,
                       const std::string &what) {
  if (auto r = s.send(b.bytes.data(), b.bytes.size(), what); !r)
    return r.error();
  uint32_t acks = 0;
  Result<void> first{};
  while (acks < b.messages) {
    auto n = s.recv(what);
    if (!n)
      return n.error();
    int left = static_cast<int>(*n);
    for (auto *nlh = reinterpret_cast<const nlmsghdr *>(s.buffer());
         nl::msg_ok(nlh, left); nlh = nl::msg_next(nlh, &left)) {
      if (nlh->nlmsg_type != NLMSG_ERROR)
        continue;
      if (nlh->nlmsg_seq < b.first_seq ||
          nlh->nlmsg_seq >= b.first_seq + b.messages)
        continue;
      ++acks;
      auto *err = static_cast<const nlmsgerr *>(nl::payload(nlh));
      if (err->error && first)
        first = Error::sys(-err->error, what);
    }
  }
  return first;
}

// The messages the kernel dropped for a socket's full buffer (sk_drops).
uint32_t socket_drops(int fd) {
  uint32_t mem[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof mem;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
      len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
    return 0;
  return mem[SK_MEMINFO_DROPS];
}

bool is_running_nscope(int pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH)
    return false;
  std::ifstream comm(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(comm, name);
  return name == "nscope";
}

// Removes the tables runs that were killed left in the namespace of `s`; says
// which.
void remove_stale(NlSocket &s, const std::string &label) {
  auto dump = nft_dump(s, NFT_MSG_GETTABLE);
  std::vector<FwTable> tables;
  if (!dump || !parse_nft_tables(dump->data(), dump->size(), tables))
    return;
  for (const FwTable &t : tables) {
    auto pid = nft_trace_table_pid(t.name);
    if (t.family != "inet" || !pid || *pid == getpid() ||
        is_running_nscope(*pid))
      continue;
    auto r = run_batch(s, nft_delete_table_batch(t.name, s.next_seq() + 1),
                       fmt::format("cannot remove table inet {}", t.name));
    for (int i = 0; i < 3; ++i)
      s.next_seq();
    if (r)
      diag("removed table inet {} in netns {}: left by nscope pid {}, which "
           "did not exit cleanly",
           t.name, label, *pid);
    else
      diag("netns {}: {}", label, r.error().message);
  }
}

} // namespace

Result<std::unique_ptr<NftTracer>>
NftTracer::start(const std::vector<NftTarget> &targets) {
  std::unique_ptr<NftTracer> t(new NftTracer());
  t->table_ = nft_trace_table_name(getpid());
  t->epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  // 64 MiB; NSCOPE_NFT_RCVBUF makes it small, for the test that overflows it.
  int rcvbuf = 64 << 20;
  if (const char *v = getenv("NSCOPE_NFT_RCVBUF"))
    rcvbuf = std::max(1, atoi(v));
  if (!t->epoll_)
    return Error::sys(errno, "epoll_create1");
  for (const NftTarget &target : targets) {
    auto fd = open_netns(target.ns);
    if (!fd) {
      diag("nft: netns {} left out: {}", target.label, fd.error().message);
      continue;
    }
    auto n = std::make_unique<Ns>();
    n->target = target;
    Result<void> opened{};
    auto entered = in_netns(fd->get(), [&] {
      auto cmd = NlSocket::open(NETLINK_NETFILTER);
      auto trace = NlSocket::open(NETLINK_NETFILTER);
      if (!cmd)
        opened = cmd.error();
      else if (!trace)
        opened = trace.error();
      else {
        n->cmd.emplace(std::move(*cmd));
        n->trace.emplace(std::move(*trace));
      }
    });
    if (!entered || !opened) {
      diag("nft: netns {} left out: {}", target.label,
           (!entered ? entered : opened).error().message);
      continue;
    }
    timeval tv{2, 0}; // a reply that never comes must not hang the run
    setsockopt(n->cmd->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    remove_stale(*n->cmd, target.label);
    // Subscribed before the table exists: no trace of a packet it marks is
    // missed. The buffer takes bursts (each packet gives a message per rule it
    // meets). What overflows it is counted exactly by the kernel (sk_drops,
    // read with SO_MEMINFO). NETLINK_NO_ENOBUFS: without it the first overflow
    // marks the socket congested and the kernel drops every trace after it
    // until the whole queue is read (one ENOBUFS, a burst of unknown size lost:
    // 9% of a flood's traces in one bench run); with it, only the messages
    // that do not fit are dropped, and each is counted.
    int group = NFNLGRP_NFTRACE;
    if (setsockopt(n->trace->fd(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
                   sizeof group) != 0)
      return Error::sys(
          errno, fmt::format("netns {}: cannot subscribe to nf_tables traces",
                             target.label));
    if (n->trace->setsockopt_int(SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf) != 0)
      n->trace->setsockopt_int(SOL_SOCKET, SO_RCVBUF, rcvbuf);
    n->trace->setsockopt_int(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
    n->drops = socket_drops(n->trace->fd());
    auto r = run_batch(*n->cmd,
                       nft_trace_table_batch(t->table_, n->cmd->next_seq() + 1),
                       fmt::format("netns {}: cannot add table inet {}",
                                   target.label, t->table_));
    for (int i = 0; i < 8; ++i)
      n->cmd->next_seq();
    // Pushed first: if the batch half-applied, the destructor still removes
    // what is there.
    n->installed = true;
    t->ns_.push_back(std::move(n));
    if (!r)
      return r.error();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = t->ns_.size() - 1;
    epoll_ctl(t->epoll_.get(), EPOLL_CTL_ADD, t->ns_.back()->trace->fd(), &ev);
  }
  if (t->ns_.empty())
    return Error::msg("nft: no network namespace could be traced");
  return t;
}

Result<std::unique_ptr<NftTracer>> NftTracer::start_switch() {
  std::unique_ptr<NftTracer> t(new NftTracer());
  t->switch_only_ = true;
  t->table_ = nft_trace_table_name(getpid());
  auto cmd = NlSocket::open(NETLINK_NETFILTER);
  if (!cmd)
    return cmd.error();
  auto n = std::make_unique<Ns>();
  struct stat st{};
  n->target.inode = stat("/proc/self/ns/net", &st) == 0
                        ? static_cast<uint32_t>(st.st_ino)
                        : 0;
  n->target.label = fmt::format("{} (nscope's)", n->target.inode);
  n->cmd.emplace(std::move(*cmd));
  timeval tv{2, 0};
  setsockopt(n->cmd->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  remove_stale(*n->cmd, n->target.label);
  auto r = run_batch(*n->cmd,
                     nft_trace_switch_batch(t->table_, n->cmd->next_seq() + 1),
                     fmt::format("cannot add table inet {}", t->table_));
  for (int i = 0; i < 6; ++i)
    n->cmd->next_seq();
  n->installed = true; // removed by the destructor even if half-applied
  t->ns_.push_back(std::move(n));
  if (!r)
    return r.error();
  return t;
}

NftTracer::~NftTracer() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
  remove_tables();
}

void NftTracer::remove_tables() {
  if (removed_)
    return;
  removed_ = true;
  for (auto &n : ns_) {
    if (!n->installed)
      continue;
    auto r = run_batch(*n->cmd,
                       nft_delete_table_batch(table_, n->cmd->next_seq() + 1),
                       fmt::format("netns {}: cannot remove table inet {}",
                                   n->target.label, table_));
    for (int i = 0; i < 3; ++i)
      n->cmd->next_seq();
    // ENOENT: the table went with its namespace's last user, or someone removed
    // it.
    if (!r && r.error().code != ENOENT)
      diag("{}", r.error().message);
    n->installed = false;
  }
}

void NftTracer::run(EventWriter &out, TextOptions text, bool joined_only) {
  if (switch_only_)
    return;
  thread_ = std::thread(
      [this, &out, text, joined_only] { loop(out, text, joined_only); });
  pthread_setname_np(thread_.native_handle(), "nscope-nft");
}

void NftTracer::stop() {
  stop_ = true;
  if (thread_.joinable())
    thread_.join();
  remove_tables();
}

// Adds what each trace socket dropped since the last call to the stats.
void NftTracer::read_drops() {
  uint64_t add = 0;
  for (auto &n : ns_) {
    if (!n->trace)
      continue;
    uint32_t d = socket_drops(n->trace->fd());
    add += static_cast<uint32_t>(d - n->drops); // the counter wraps at 2^32
    n->drops = d;
  }
  std::lock_guard lk(stats_mu_);
  stats_.lost += add;
}

NftStats NftTracer::stats() const {
  std::lock_guard lk(stats_mu_);
  return stats_;
}

// Every trace message waiting in one namespace's socket, into the joiner. Each
// message is a datagram of its own, and a packet gives one per rule it meets:
// recvmmsg takes them 64 at a time (one recv each cost a flood a third of the
// trace thread's time).
void NftTracer::read_ns(Ns &n, uint64_t now) {
  constexpr size_t kMsgs = 64,
                   kSize = 8192; // a trace message is well under 1 KiB
  static thread_local std::unique_ptr<char[]> buf(new char[kMsgs * kSize]);
  mmsghdr msgs[kMsgs];
  iovec iov[kMsgs];
  NftStats add;
  while (true) {
    for (size_t i = 0; i < kMsgs; ++i) {
      iov[i] = {buf.get() + i * kSize, kSize};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int got = ::recvmmsg(n.trace->fd(), msgs, kMsgs, MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      if (errno == ENOBUFS) {
        ++add.overruns;
        continue;
      }
      break; // EAGAIN: read all
    }
    for (int m = 0; m < got; ++m) {
      for_each_nft_trace(buf.get() + m * kSize, msgs[m].msg_len, [&](Result<NftTrace> tr) {
        if (!tr) {
          ++add.bad;
          return;
        }
        if (tr->table == table_)
          return; // nscope's own marking rule
        ++add.traces;
        NftJoiner::Trace t;
        t.ts = now;
        t.netns = n.target.inode;
        t.netns_cookie = n.target.cookie;
        t.key = nft_packet_key(tr->network_header, tr->transport_header);
        t.family = tr->family;
        t.nfproto = tr->nfproto;
        t.type = tr->type;
        t.table = tr->table;
        t.chain = tr->chain;
        t.verdict_chain = tr->verdict_chain;
        t.verdict = nft_trace_verdict(*tr);
        t.policy = tr->type == NFT_TRACETYPE_POLICY;
        t.rule_handle = tr->rule_handle;
        if (tr->ll_header.size() == 14) {
          t.headers = tr->ll_header;
        } else {
          uint16_t proto = tr->nfproto == NFPROTO_IPV6 ? 0x86dd : 0x0800;
          t.headers.assign(12, '\0');
          t.headers += static_cast<char>(proto >> 8);
          t.headers += static_cast<char>(proto & 0xff);
        }
        t.headers += tr->network_header;
        joiner_.add(std::move(t));
      });
    }
    if (got < static_cast<int>(kMsgs))
      break;
  }
  std::lock_guard lk(stats_mu_);
  stats_.traces += add.traces;
  stats_.overruns += add.overruns;
  stats_.bad += add.bad;
}

void NftTracer::loop(EventWriter &out, TextOptions text, bool joined_only) {
  SymbolTable names;
  EventBatch batch;
  Event e;
  // Table and chain handles, as Retis reports them: from a dump of the
  // namespace's tables and chains, read again (at most once a second) when a
  // name is not known.
  std::string key;
  auto handle_of = [&](Ns &n, const NftJoiner::Trace &t,
                       bool chain) -> int64_t {
    key.assign(nft_family_name(t.family)).append(" ").append(t.table);
    if (chain)
      key.append(" ").append(t.chain);
    auto it = n.handles.find(key);
    if (it != n.handles.end())
      return it->second;
    uint64_t now = mono_now();
    if (n.handles_read && now - n.handles_read < 1'000'000'000ull)
      return 0;
    n.handles_read = now;
    std::vector<FwTable> tables;
    auto td = nft_dump(*n.cmd, NFT_MSG_GETTABLE);
    if (td && parse_nft_tables(td->data(), td->size(), tables)) {
      auto cd = nft_dump(*n.cmd, NFT_MSG_GETCHAIN);
      if (cd)
        (void)parse_nft_chains(cd->data(), cd->size(), tables);
    }
    for (const FwTable &tb : tables) {
      n.handles[fmt::format("{} {}", tb.family, tb.name)] = tb.handle;
      for (const FwChain &c : tb.chains)
        n.handles[fmt::format("{} {} {}", tb.family, tb.name, c.name)] =
            c.handle;
    }
    it = n.handles.find(key);
    return it == n.handles.end() ? 0 : it->second;
  };
  std::unordered_map<uint32_t, Ns *> by_inode;
  for (auto &n : ns_)
    by_inode[n->target.inode] = n.get();
  uint64_t joined = 0, written = 0;
  auto emit = [&](const NftJoiner::Trace &t, const NftJoiner::Seen *m) {
    if (m)
      ++joined;
    if (joined_only && !m)
      return;
    reset_event(e);
    // A trace carries no time, and is read a little after its verdict. Joined
    // in its own namespace, it is placed just after the packet's first event
    // there (the traces of one packet 1 ns apart, in the order nf_tables sent
    // them); otherwise when it was read.
    e.ts = m && m->netns == t.netns ? m->first_ts + m->traces : t.ts;
    e.probe_type = "nftrace";
    e.symbol = "nft:trace";
    e.has_netns = true;
    e.netns_inum = t.netns;
    e.netns_cookie = t.netns_cookie;
    if (m && m->tracked) {
      e.has_tracking = true;
      e.track_ts = m->track_ts;
      e.orig_head = m->orig_head;
      e.skb_addr = m->skb; // the tracking's skb, as its packet events show it
    }
    size_t cap = std::min(t.headers.size(), kMaxPacket);
    if (cap > 14) {
      e.has_packet = true;
      std::memcpy(e.data.data(), t.headers.data(), cap);
      e.caplen = static_cast<uint16_t>(cap);
      e.l2_len = 14;
      e.protocol =
          static_cast<uint16_t>((static_cast<uint8_t>(t.headers[12]) << 8) |
                                static_cast<uint8_t>(t.headers[13]));
    }
    e.has_rare = true;
    NftInfo &nf = e.nft;
    nf.has = true;
    nf.family = names.intern(nft_family_name(t.family));
    nf.table = names.intern(t.table);
    nf.chain = names.intern(t.chain);
    nf.verdict = t.verdict;
    nf.verdict_chain = t.verdict_chain.empty() ? std::string_view()
                                               : names.intern(t.verdict_chain);
    nf.policy = t.policy;
    nf.has_rule = t.rule_handle.has_value();
    nf.rule_handle = t.rule_handle ? static_cast<int64_t>(*t.rule_handle) : 0;
    if (Ns *n = by_inode[t.netns]) {
      nf.table_handle = handle_of(*n, t, false);
      nf.chain_handle = handle_of(*n, t, true);
    }
    if (out.has_text())
      format_event_text(e, text, batch.text);
    if (out.has_json()) {
      char *at = batch.json.room(event_json_bound(e) + 1);
      at = format_event_json(e, at);
      *at++ = '\n';
      batch.json.size = static_cast<size_t>(at - batch.json.data.get());
    }
    ++batch.events;
    ++written;
  };
  epoll_event evs[16];
  uint64_t drops_read = 0;
  for (bool last = false; !last;) {
    last = stop_.load();
    int k = last ? 0 : epoll_wait(epoll_.get(), evs, 16, 50);
    uint64_t now = mono_now();
    if (last) {
      for (auto &n : ns_)
        read_ns(*n, now); // what came before the programs were detached
    } else {
      for (int i = 0; i < k; ++i)
        read_ns(*ns_[evs[i].data.u64], now);
    }
    if (last || now - drops_read >= 100'000'000ull) {
      read_drops();
      drops_read = now;
    }
    joiner_.resolve(now, last, emit);
    if (!batch.empty()) {
      batch.sync = true;
      out.submit(batch);
    }
    std::lock_guard lk(stats_mu_);
    stats_.joined = joined;
    stats_.written = written;
  }
}

} // namespace nscope
