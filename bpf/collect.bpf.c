// SPDX-License-Identifier: GPL-2.0
/* `nscope collect`: packet events at kernel tracepoints, each tagged with the network
 * namespace it happened in. One BTF-enabled tracepoint program per probe slot (the same
 * body, compiled NSCOPE_MAX_PROBES times with its slot number as a constant); user space
 * sets each slot's target and argument layout before load and attaches the slots it uses.
 * tp_btf rather than raw_tp: the kernel types the arguments, so fields are read with plain
 * loads instead of a bpf_probe_read_kernel() call each, several times cheaper per event.
 * Events go to one ring buffer; an event it cannot take is counted per slot and CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "nscope.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load (.rodata: the verifier sees them as constants). */
const volatile __u32 collectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV;
const volatile __u64 wakeup_bytes = 1 << 20;
const volatile struct nscope_probe_cfg probe_cfg[NSCOPE_MAX_PROBES] = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20); /* --buffer-size */
} events SEC(".maps");

/* Per slot, per CPU: events the ring buffer could not take, and events emitted. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NSCOPE_MAX_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NSCOPE_MAX_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} emitted SEC(".maps");

static __always_inline void count(void *map, __u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(map, &slot);

	if (v)
		*v += 1;
}

/* The index is a load-time constant. Each load is written out with its own constant offset:
 * the verifier refuses a context pointer moved by a register, which is what the compiler
 * would make of ctx[i]. */
#define CTX_ARG(ctx, off)                                                       \
	({                                                                      \
		__u64 __v;                                                      \
		asm volatile("%0 = *(u64 *)(%1 + " #off ")" : "=r"(__v) : "r"(ctx)); \
		(void *)__v;                                                    \
	})

static __always_inline void *arg(__u64 *ctx, __u8 i)
{
	switch (i) {
	case 0: return CTX_ARG(ctx, 0);
	case 1: return CTX_ARG(ctx, 8);
	case 2: return CTX_ARG(ctx, 16);
	case 3: return CTX_ARG(ctx, 24);
	case 4: return CTX_ARG(ctx, 32);
	case 5: return CTX_ARG(ctx, 40);
	}
	return NULL;
}

static __always_inline void set_netns(struct nscope_event *e, struct net *net, __u8 src)
{
	e->netns_inum = net->ns.inum;
	if (bpf_core_field_exists(net->net_cookie))
		e->netns_cookie = net->net_cookie;
	e->ns_src = src;
}

static __always_inline void capture(struct nscope_event *e, struct sk_buff *skb)
{
	unsigned char *head = skb->head;
	unsigned char *data = skb->data;
	__u16 mac = skb->mac_header;
	__u16 nh = skb->network_header;
	__u32 headlen = e->len - e->data_len;
	__u64 end = (__u64)(data - head) + headlen; /* linear bytes end, from head */
	__u64 off, cap;

	if (mac != (__u16)~0U && nh != (__u16)~0U && mac < nh && nh - mac <= 64) {
		off = mac;
		e->flags |= NSCOPE_EV_HAS_MAC;
		e->pad[0] = nh - mac; /* link header length */
	} else if (nh != (__u16)~0U) {
		off = nh;
		e->flags |= NSCOPE_EV_HAS_NET;
	} else {
		off = data - head;
		e->flags |= NSCOPE_EV_HAS_NET;
	}
	if (off >= end)
		return;
	cap = end - off;
	if (cap > NSCOPE_PKT_CAPTURE)
		cap = NSCOPE_PKT_CAPTURE;
	if (bpf_probe_read_kernel(e->data, cap, head + off) == 0)
		e->caplen = cap;
}

static __always_inline int handle(__u64 *ctx, const __u32 slot)
{
	const struct nscope_probe_cfg cfg = probe_cfg[slot];
	struct sk_buff *skb = NULL;
	struct net_device *dev = NULL, *argdev = NULL;
	struct net *argnet = NULL;
	struct nscope_event *e;
	struct sock *sk;
	__u64 id;

	if (cfg.skb_arg != NSCOPE_ARG_NONE)
		skb = arg(ctx, cfg.skb_arg);
	if (cfg.dev_arg != NSCOPE_ARG_NONE)
		argdev = arg(ctx, cfg.dev_arg);
	if (cfg.net_arg != NSCOPE_ARG_NONE)
		argnet = arg(ctx, cfg.net_arg);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(&lost, slot);
		return 0;
	}
	e->ts = bpf_ktime_get_ns();
	e->probe = slot;
	e->cpu = bpf_get_smp_processor_id();
	id = bpf_get_current_pid_tgid();
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->skb = (__u64)skb;
	e->flags = 0;
	e->ns_src = NSCOPE_NS_NONE;
	e->netns_inum = 0;
	e->netns_cookie = 0;
	e->ifindex = 0;
	e->rx_ifindex = 0;
	e->ifname[0] = 0;
	e->len = e->data_len = e->mark = 0;
	e->protocol = 0;
	e->caplen = 0;
	e->pad[0] = e->pad[1] = 0;

	if (skb) {
		e->flags |= NSCOPE_EV_HAS_SKB;
		dev = skb->dev;
	}
	if (!dev)
		dev = argdev;

	if (collectors & NSCOPE_COLLECT_NS) {
		/* After a veth hop skb->sk is gone: the device says where the packet is. */
		if (skb && skb->dev) {
			set_netns(e, skb->dev->nd_net.net, NSCOPE_NS_SKB_DEV);
		} else if (skb && (sk = skb->sk)) {
			set_netns(e, sk->__sk_common.skc_net.net, NSCOPE_NS_SKB_SK);
		} else if (argdev) {
			set_netns(e, argdev->nd_net.net, NSCOPE_NS_ARG_DEV);
		} else if (argnet) {
			set_netns(e, argnet, NSCOPE_NS_ARG_NET);
		}
	}
	if ((collectors & NSCOPE_COLLECT_DEV) && dev) {
		e->ifindex = dev->ifindex;
		bpf_probe_read_kernel(e->ifname, sizeof(e->ifname), dev->name);
		if (skb)
			e->rx_ifindex = skb->skb_iif;
	}
	if ((collectors & NSCOPE_COLLECT_SKB) && skb) {
		e->len = skb->len;
		e->data_len = skb->data_len;
		e->mark = skb->mark;
		e->protocol = skb->protocol;
		capture(e, skb);
	}
	count(&emitted, slot);
	/* Wake the reader only once a batch is waiting: one wakeup per event would cost more
	 * than the event itself. The reader also polls on a short timeout. */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
				      ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 0;
}

#define SLOT(n)                                                   \
	SEC("tp_btf")                                             \
	int probe_##n(__u64 *ctx)                                 \
	{                                                         \
		return handle(ctx, n);                            \
	}

SLOT(0) SLOT(1) SLOT(2) SLOT(3) SLOT(4) SLOT(5) SLOT(6) SLOT(7)
SLOT(8) SLOT(9) SLOT(10) SLOT(11) SLOT(12) SLOT(13) SLOT(14) SLOT(15)
SLOT(16) SLOT(17) SLOT(18) SLOT(19) SLOT(20) SLOT(21) SLOT(22) SLOT(23)
SLOT(24) SLOT(25) SLOT(26) SLOT(27) SLOT(28) SLOT(29) SLOT(30) SLOT(31)
