// User-space cost of collect's output path: decoding raw ring-buffer records and formatting
// them as text and as JSON lines, on one core (the target: 1,000,000 events/s or
// more for decode + text); and the whole consumer side fed from several buffers at once:
// N reader threads, each decoding and formatting its own buffer's records into batches, one
// writer thread writing them to a file (BM_Consumers/N, events per second of wall time).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "collect/decode.h"
#include "collect/writer.h"
#include "events/format.h"

using namespace nscope;

namespace {

// A mix like a flood between two namespaces: UDP, TCP, ICMP, each at xmit and receive.
std::vector<nscope_event> make_events(size_t n) {
  std::vector<nscope_event> out(n);
  for (size_t i = 0; i < n; ++i) {
    nscope_event& r = out[i];
    r.ts = 1000000000ull + i * 1000;
    r.skb = 0xffff888000000000ull + i * 256;
    r.netns_cookie = 4096 + i % 3;
    r.probe = static_cast<uint32_t>(i % 2);
    r.pid = r.tgid = 4242;
    r.netns_inum = 4026532256u + static_cast<uint32_t>(i % 3);
    r.ifindex = 2 + static_cast<uint32_t>(i % 2);
    r.len = 106;
    r.protocol = htons(0x0800);
    r.flags = NSCOPE_EV_HAS_SKB | NSCOPE_EV_HAS_MAC;
    r.ns_src = NSCOPE_NS_SKB_DEV;
    r.l2len = 14;
    std::strcpy(r.comm, "iperf3");
    std::strcpy(r.ifname, i % 2 ? "veth0" : "eth0");
    uint8_t proto = i % 3 == 0 ? 17 : i % 3 == 1 ? 6 : 1;
    uint8_t frame[106] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
                          0x45, 0, 0, 92, 0x30, 0x39, 0x40, 0, 64, proto, 0, 0,
                          10, 214, 0, 1, 10, 214, 0, 2, 0x14, 0x51, 0x14, 0x51, 0, 72, 0, 0};
    if (proto == 6) frame[46] = 0x50, frame[47] = 0x18;
    std::memcpy(r.data, frame, sizeof frame);
    r.caplen = sizeof frame;
  }
  return out;
}

DecodeContext context() {
  DecodeContext c;
  c.slot_symbols = {"net:netif_receive_skb", "net:net_dev_start_xmit"};
  return c;
}

void BM_DecodeText(benchmark::State& state) {
  auto events = make_events(4096);
  DecodeContext ctx = context();
  std::unordered_map<uint32_t, std::string> names{{4026532256u, "web-1"}, {4026532257u, "db-1"}};
  TextOptions opt;
  opt.names = &names;
  Event e;
  std::string out;
  out.reserve(1 << 20);
  size_t i = 0;
  for (auto _ : state) {
    decode_event(events[i++ & 4095], ctx, e);
    format_event_text(e, opt, out);
    if (out.size() > (1 << 19)) out.clear();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeText);

void BM_DecodeJson(benchmark::State& state) {
  auto events = make_events(4096);
  DecodeContext ctx = context();
  Event e;
  std::string out;
  out.reserve(1 << 20);
  size_t i = 0;
  for (auto _ : state) {
    decode_event(events[i++ & 4095], ctx, e);
    format_event_json(e, out);
    out += '\n';
    if (out.size() > (1 << 19)) out.clear();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeJson);

// A synthetic multi-buffer feed: `readers` threads, each with its own buffer of records (as
// each reads its own CPUs' rings), 1 << 20 events in all, through decode, JSON formatting
// and one writer into a file ($NSCOPE_BENCH_DIR, default /tmp), as `collect -o FILE` does.
void BM_Consumers(benchmark::State& state) {
  const auto readers = static_cast<size_t>(state.range(0));
  const size_t total = size_t{1} << 20;
  std::vector<std::vector<nscope_event>> buffers(readers, make_events(4096));
  const char* dir = getenv("NSCOPE_BENCH_DIR");
  std::string path = std::string(dir ? dir : "/tmp") + "/nscope-bench-consumers.json";
  for (auto _ : state) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    {
      WriterOptions wo;
      wo.json_fd = fd;
      wo.json_path = path;
      EventWriter writer(wo);
      std::vector<std::thread> threads;
      for (size_t r = 0; r < readers; ++r)
        threads.emplace_back([&, r] {
          EventFormatter f(writer, TextOptions{}, context());
          const auto& buf = buffers[r];
          for (size_t i = 0; i < total / readers; ++i) f.push(&buf[i & 4095], sizeof(nscope_event));
          f.hand_over();
        });
      for (auto& t : threads) t.join();
      writer.close("");
      if (writer.written() != total / readers * readers) state.SkipWithError("events went missing");
    }
    ::close(fd);
  }
  ::unlink(path.c_str());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * total));
}
BENCHMARK(BM_Consumers)->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
