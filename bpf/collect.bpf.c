// SPDX-License-Identifier: GPL-2.0
/* `nscope collect`: packet events at kernel tracepoints, each tagged with the network
 * namespace it happened in. One BTF-enabled tracepoint program per probe slot (the same
 * body, compiled NSCOPE_MAX_PROBES times with its slot number as a constant); user space
 * sets each slot's target and argument layout before load and attaches the slots it uses.
 * tp_btf rather than raw_tp: the kernel types the arguments, so fields are read with plain
 * loads instead of a bpf_probe_read_kernel() call each, several times cheaper per event.
 * Each CPU writes its events into a ring buffer of its own (rings[cpu]), so producers never
 * take a lock another CPU holds; an event its ring cannot take is counted per slot and CPU.
 * (User space may put one ring at every index: the shared mode, for comparison.) */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "nscope.h"
#include "filter_stubs.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by user space before load (.rodata: the verifier sees them as constants). */
const volatile __u32 collectors = NSCOPE_COLLECT_SKB | NSCOPE_COLLECT_NS | NSCOPE_COLLECT_DEV;
/* A record's size, and where its stack goes: the event, then the ct extension with the ct
 * collector, then the stack with --stack. Set by user space, so the programs compute nothing. */
const volatile __u32 record_size = sizeof(struct nscope_event);
const volatile __u32 stack_offset = sizeof(struct nscope_event);
const volatile __u32 ovs_offset = sizeof(struct nscope_event); /* with the ovs collector */
const volatile __u32 nft_offset = sizeof(struct nscope_event); /* with the nft kprobe */
const volatile __u64 wakeup_bytes = 1 << 20;
const volatile struct nscope_probe_cfg probe_cfg[NSCOPE_MAX_PROBES] = {};

/* Filters (src/filter/), decided on a packet's first sight; a followed packet stays followed.
 * --netns: namespaces by cookie (inode where the kernel has no cookie). -f and -m: code that
 * replaces the stubs in filter_stubs.h. */
const volatile __u32 netns_filter_mode = 0; /* 0, NSCOPE_NETNS_INCLUDE or _EXCLUDE */
const volatile __u32 netns_filter_count = 0;
const volatile __u32 netns_filter_inum[NSCOPE_MAX_NETNS_FILTER] = {};
const volatile __u64 netns_filter_cookie[NSCOPE_MAX_NETNS_FILTER] = {};
const volatile bool filter_packet = false; /* -f */
const volatile __u32 filter_packet_bytes = NSCOPE_FILTER_BYTES; /* what -f reads */
const volatile bool filter_meta = false;   /* -m */
/* The kernel lets programs load packet bytes straight from skb->head (Linux 6.16 on: the
 * verifier turns them into fault-safe loads). Then -f reads only the bytes its expression
 * looks at, and the capture needs no helper call. User space finds out by loading. */
const volatile bool direct_packet = false;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nscope_pkt_buf);
} pkt_scratch SEC(".maps");

/* One ring buffer per CPU, indexed by CPU id. User space sizes the outer array to the
 * possible CPUs and creates and inserts the rings (each --buffer-size / online CPUs); an
 * index without a ring (a CPU that came online later) counts its events as lost. */
struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ring);
} rings SEC(".maps");

/* --stack: the frames are taken before the event is reserved (the program's context is then
 * no longer needed), into this per-CPU scratch. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nscope_stack_ext);
} stack_scratch SEC(".maps");

/* Per CPU: bytes submitted since this CPU last asked how much waits (wakeup_flag). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unchecked SEC(".maps");

/* Per slot, per CPU: events the ring buffer could not take. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NSCOPE_MAX_PROBES);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");


/* skb-tracking: packet ids by skb->head (the data buffer, shared by clones, kept across
 * veth, bridge and forwarding hops) and by skb address (kept when the head is reallocated).
 * Entries end at the free tracepoints; user space ages out the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* set by user space */
	__type(key, __u64);
	__type(value, struct nscope_track);
} tracking SEC(".maps");

/* Inserts a full tracking map refused: packets then go unfollowed, and the count is shown. */
__u64 track_refused = 0;

/* Wake the reader only once a batch is waiting: one wakeup per event would cost more than
 * the event itself, and the reader also polls on a short timeout. Even asking how much
 * waits reads a cache line the reader writes, so each CPU asks once per 64 KiB it adds. */
static __always_inline __u64 wakeup_flag(void *ring, __u64 size)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&unchecked, &zero);

	if (!n)
		return 0;
	*n += size;
	if (*n < (64 << 10))
		return BPF_RB_NO_WAKEUP;
	*n = 0;
	return bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									   : BPF_RB_NO_WAKEUP;
}

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

static __always_inline void *arg(__u64 *ctx, __u32 i)
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

/* Reading kernel memory. tp_btf, fentry and fexit programs get typed pointers: their fields
 * are plain loads, several times cheaper than a helper call. A kprobe gets bare numbers from
 * registers: every read is a bpf_probe_read_kernel() (CO-RE relocated). `kp` is a constant in
 * each program (the handlers below are inlined), so each compiles only its own kind of read. */
#define RD(kp, p, field) ((kp) ? BPF_CORE_READ(p, field) : (p)->field)

/* Where an event happened: the netns of the skb's device, else of its socket, else of the
 * probe's net_device or net argument. */
struct where {
	__u64 cookie;
	__u32 inum;
	__u8 src; /* enum nscope_ns_src */
};

static __always_inline void set_where(struct where *w, struct net *net, __u8 src, const bool kp)
{
	w->inum = RD(kp, net, ns.inum);
	if (bpf_core_field_exists(net->net_cookie))
		w->cookie = RD(kp, net, net_cookie);
	w->src = src;
}

static __always_inline void find_netns(struct where *w, struct sk_buff *skb,
				       struct net_device *argdev, struct net *argnet,
				       const bool kp)
{
	struct net_device *dev = skb ? RD(kp, skb, dev) : NULL;
	struct sock *sk;

	/* After a veth hop skb->sk is gone: the device says where the packet is. */
	if (dev)
		set_where(w, RD(kp, dev, nd_net.net), NSCOPE_NS_SKB_DEV, kp);
	else if (skb && (sk = RD(kp, skb, sk)))
		set_where(w, RD(kp, sk, __sk_common.skc_net.net), NSCOPE_NS_SKB_SK, kp);
	else if (argdev)
		set_where(w, RD(kp, argdev, nd_net.net), NSCOPE_NS_ARG_DEV, kp);
	else if (argnet)
		set_where(w, argnet, NSCOPE_NS_ARG_NET, kp);
}

static __always_inline bool netns_wanted(const struct where *w)
{
	bool listed = false;

	for (__u32 i = 0; i < NSCOPE_MAX_NETNS_FILTER; i++) {
		if (i >= netns_filter_count)
			break;
		if (w->src != NSCOPE_NS_NONE &&
		    (w->cookie && netns_filter_cookie[i] ? w->cookie == netns_filter_cookie[i]
							 : w->inum == netns_filter_inum[i])) {
			listed = true;
			break;
		}
	}
	return listed == (netns_filter_mode == NSCOPE_NETNS_INCLUDE);
}

/* The packet as a capture sees it: from the link-layer header when the skb has one (veth,
 * loopback, Ethernet), else from the network header. */
struct pkt_view {
	unsigned char *start;
	__u32 avail;   /* linear bytes readable from start */
	__u32 wirelen; /* the packet's length from start */
	__u8 flags;    /* NSCOPE_EV_HAS_MAC or NSCOPE_EV_HAS_NET */
	__u8 l2len;    /* link header length with HAS_MAC */
};

static __always_inline void view_packet(struct pkt_view *v, struct sk_buff *skb, const bool kp)
{
	unsigned char *head = RD(kp, skb, head);
	__u16 mac = RD(kp, skb, mac_header);
	__u16 nh = RD(kp, skb, network_header);
	__u32 len = RD(kp, skb, len);
	__u64 doff = RD(kp, skb, data) - head;
	__u64 end = doff + len - RD(kp, skb, data_len); /* linear bytes end, from head */
	__u64 off;

	v->l2len = 0;
	if (mac != (__u16)~0U && nh != (__u16)~0U && mac < nh && nh - mac <= 64) {
		off = mac;
		v->flags = NSCOPE_EV_HAS_MAC;
		v->l2len = nh - mac;
	} else if (nh != (__u16)~0U) {
		off = nh;
		v->flags = NSCOPE_EV_HAS_NET;
	} else {
		off = doff;
		v->flags = NSCOPE_EV_HAS_NET;
	}
	v->start = head + off;
	v->avail = off < end ? end - off : 0;
	v->wirelen = off <= doff + len ? doff + len - off : 0;
}

/* `direct`: plain loads from the packet (tp_btf and fentry on a kernel that allows them). */
static __always_inline void capture(struct nscope_event *e, const struct pkt_view *v,
				    const bool direct)
{
	__u64 cap = v->avail;

	e->flags |= v->flags;
	e->l2len = v->l2len;
	if (cap > NSCOPE_PKT_CAPTURE)
		cap = NSCOPE_PKT_CAPTURE;
	if (direct) {
		/* Whole words; the bytes of the last one past cap are never shown. */
#pragma unroll
		for (__u32 i = 0; i < NSCOPE_PKT_CAPTURE / 8; i++) {
			if (i * 8 >= cap)
				break;
			((__u64 *)e->data)[i] = *(__u64 *)(v->start + i * 8);
		}
		e->caplen = cap;
	} else if (cap && bpf_probe_read_kernel(e->data, cap, v->start) == 0) {
		e->caplen = cap;
	}
}

/* -f: runs the compiled filter on the packet's first bytes: where they lie with `direct`,
 * else read once into the per-CPU scratch (*buf, which the event then copies from). Returns
 * the bytes the filter could see, or -1: no match. */
static __always_inline int match_packet(struct nscope_pkt_buf **buf, const struct pkt_view *v,
					const bool direct)
{
	__u32 zero = 0;
	__u64 cap = v->avail;

	if (direct) {
		if (cap > NSCOPE_FILTER_BYTES)
			cap = NSCOPE_FILTER_BYTES;
		if (!nscope_filter_packet(v->start, cap, v->wirelen,
					  v->flags == NSCOPE_EV_HAS_MAC && v->l2len >= 14))
			return -1;
		return cap;
	}
	*buf = bpf_map_lookup_elem(&pkt_scratch, &zero);
	if (!*buf)
		return -1;
	if (cap > filter_packet_bytes)
		cap = filter_packet_bytes;
	if (cap > NSCOPE_FILTER_BYTES)
		cap = NSCOPE_FILTER_BYTES;
	if (cap && bpf_probe_read_kernel((*buf)->data, cap, v->start))
		cap = 0;
	if (!nscope_filter_packet((*buf)->data, cap, v->wirelen,
				  v->flags == NSCOPE_EV_HAS_MAC && v->l2len >= 14))
		return -1;
	return cap;
}

/* The id of a packet already followed, or NULL. */
static __always_inline struct nscope_track *track_find(struct sk_buff *skb, __u64 now,
						       const bool kp)
{
	__u64 head = (__u64)RD(kp, skb, head), addr = (__u64)skb;
	struct nscope_track *tv, copy;

	tv = bpf_map_lookup_elem(&tracking, &head);
	if (!tv) {
		tv = bpf_map_lookup_elem(&tracking, &addr);
		if (!tv)
			return NULL;
		/* same skb, new head (reallocated): follow the new head too */
		copy = *tv;
		bpf_map_update_elem(&tracking, &head, &copy, BPF_ANY);
	}
	tv->last_seen = now;
	return tv;
}

/* Follows a packet seen for the first time; NULL when the map is full. */
static __always_inline struct nscope_track *track_new(struct sk_buff *skb, __u64 now,
						      const bool kp)
{
	__u64 head = (__u64)RD(kp, skb, head), addr = (__u64)skb;
	struct nscope_track fresh = {.orig_head = head, .ts = now, .last_seen = now};

	if (bpf_map_update_elem(&tracking, &head, &fresh, BPF_NOEXIST) ||
	    bpf_map_update_elem(&tracking, &addr, &fresh, BPF_ANY)) {
		__sync_fetch_and_add(&track_refused, 1);
		return NULL;
	}
	return bpf_map_lookup_elem(&tracking, &head);
}

/* At a free: forget the skb, and its head unless a clone still shares it. */
static __always_inline void untrack(struct sk_buff *skb, const bool kp)
{
	unsigned char *h = RD(kp, skb, head);
	__u64 head = (__u64)h, addr = (__u64)skb;
	struct skb_shared_info *sh = (void *)(h + RD(kp, skb, end));
	int dataref = BPF_CORE_READ(sh, dataref.counter) & 0xffff;

	bpf_map_delete_elem(&tracking, &addr);
	if (dataref <= 1)
		bpf_map_delete_elem(&tracking, &head);
}

static __always_inline void ct_tuple(struct nscope_ct_tuple *t, struct nf_conntrack_tuple *src)
{
	struct nf_conntrack_tuple tu;

	if (bpf_probe_read_kernel(&tu, sizeof(tu), src))
		return;
	__builtin_memcpy(t->src, &tu.src.u3, 16);
	__builtin_memcpy(t->dst, &tu.dst.u3, 16);
	t->sport = tu.src.u.all;
	t->dport = tu.dst.u.all;
	t->proto = tu.dst.protonum;
	t->family = tu.src.l3num;
	if (t->proto == 1 || t->proto == 58) { /* ICMP: type/code and id */
		t->sport = (__u16)tu.dst.u.icmp.type << 8 | tu.dst.u.icmp.code;
		t->dport = tu.src.u.icmp.id;
	}
}

static __always_inline void ct_fill(struct nscope_ct_ext *x, struct sk_buff *skb, __u8 *flags,
				    const bool kp)
{
	unsigned long nfct = RD(kp, skb, _nfct);
	struct nf_conn *ct = (struct nf_conn *)(nfct & ~NSCOPE_NFCT_INFO_MASK);

	x->ctinfo = nfct & NSCOPE_NFCT_INFO_MASK;
	if (!ct) {
		if (x->ctinfo == NSCOPE_CT_UNTRACKED)
			*flags |= NSCOPE_EV_HAS_CT;
		return;
	}
	*flags |= NSCOPE_EV_HAS_CT;
	x->status = BPF_CORE_READ(ct, status);
	if (bpf_core_field_exists(ct->mark))
		x->mark = BPF_CORE_READ(ct, mark);
	if (bpf_core_field_exists(ct->zone))
		x->zone = BPF_CORE_READ(ct, zone.id);
	ct_tuple(&x->orig, &ct->tuplehash[0].tuple);
	ct_tuple(&x->reply, &ct->tuplehash[1].tuple);
}

/* ---- ovs: the openvswitch module's types. They are in the module's BTF, not in vmlinux.h:
 * these local copies name only the fields read, and libbpf relocates them (CO-RE) against the
 * module's BTF at load. On a kernel without the module they stay unresolved, which is harmless:
 * only slots whose ovs_point is set reach them, and those are planned only with the module. */
struct dp_upcall_info___nscope {
	__u32 portid;
	__u8 cmd;
} __attribute__((preserve_access_index));

struct sw_flow_key___nscope {
	__u32 recirc_id;
} __attribute__((preserve_access_index));

struct ovs_conntrack_info___nscope {
	struct nf_conntrack_zone zone;
	__u8 commit : 1;
	__u8 nat : 3;
	__u8 force : 1;
	__u16 family;
} __attribute__((preserve_access_index));

#define NSCOPE_NLA_TYPE_MASK 0x3fff /* ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) */
#define NSCOPE_NLA_HDRLEN 4
#define NSCOPE_OVS_ACTION_OUTPUT 1 /* enum ovs_action_attr: UAPI, stable */
#define NSCOPE_OVS_ACTION_CT 12

/* Links an upcall to the execution of the packet ovs-vswitchd sends back, a new skb: a hash of
 * the packet's length and first bytes, the same at both ends (Retis's queue_id is also a hash
 * of the packet, taken where the upcall is queued). From the link-layer header: the upcall
 * sees the frame as the port received it, the execution the frame userspace sent. */
static __always_inline __u32 ovs_queue_id(struct sk_buff *skb, const bool kp)
{
	struct pkt_view v = {};
	struct nscope_pkt_buf *buf;
	__u32 zero = 0;
	__u64 cap, w, h = 0xcbf29ce484222325ULL; /* FNV-1a, a word at a time */

	buf = bpf_map_lookup_elem(&pkt_scratch, &zero);
	if (!buf)
		return 0;
	view_packet(&v, skb, kp);
	cap = v.avail;
	if (cap > NSCOPE_OVS_HASH_BYTES)
		cap = NSCOPE_OVS_HASH_BYTES;
	if (!cap || bpf_probe_read_kernel(buf->data, cap, v.start))
		return 0;
	h = (h ^ v.wirelen) * 0x100000001b3ULL;
#pragma unroll
	for (__u32 i = 0; i < NSCOPE_OVS_HASH_BYTES / 8; i++) {
		if (i * 8 >= cap)
			break;
		w = ((__u64 *)buf->data)[i];
		if (cap - i * 8 < 8) /* the bytes past cap are another packet's */
			w &= (1ULL << ((cap - i * 8) * 8)) - 1;
		h = (h ^ w) * 0x100000001b3ULL;
	}
	return (__u32)(h ^ (h >> 32));
}

static __always_inline void ovs_ct_fill(struct nscope_ovs_ext *x, const void *data)
{
	const struct ovs_conntrack_info___nscope *info = data;
	__u16 family = BPF_CORE_READ(info, family);

	x->ct_zone = BPF_CORE_READ(info, zone.id);
	if (BPF_CORE_READ_BITFIELD_PROBED(info, commit))
		x->ct_flags |= NSCOPE_OVS_CT_COMMIT;
	if (BPF_CORE_READ_BITFIELD_PROBED(info, force))
		x->ct_flags |= NSCOPE_OVS_CT_FORCE;
	if (BPF_CORE_READ_BITFIELD_PROBED(info, nat))
		x->ct_flags |= NSCOPE_OVS_CT_NAT;
	if (family == 2) /* NFPROTO_IPV4 */
		x->ct_flags |= NSCOPE_OVS_CT_IP4;
	else if (family == 10) /* NFPROTO_IPV6 */
		x->ct_flags |= NSCOPE_OVS_CT_IP6;
}

/* An openvswitch tracepoint's own arguments. `a`: the upcall's dp_upcall_info, or the
 * execution's flow key; `b`: the executed action. `seen`: the packet was followed before this
 * event. An execution gets a queue id only for a packet nscope meets there first: the one
 * ovs-vswitchd sent back (or, without skb-tracking, every one). */
static __always_inline void ovs_fill(struct nscope_ovs_ext *x, const __u8 point, void *a,
				     void *b, struct sk_buff *skb, bool seen, const bool kp)
{
	__builtin_memset(x, 0, sizeof(*x));
	x->point = point;
	if (point == NSCOPE_OVS_UPCALL) {
		struct dp_upcall_info___nscope *u = a;

		if (u) {
			x->port = BPF_CORE_READ(u, portid);
			x->cmd = BPF_CORE_READ(u, cmd);
		}
		if (skb) {
			x->queue_id = ovs_queue_id(skb, kp);
			x->flags |= NSCOPE_OVS_HAS_QUEUE;
		}
	} else if (point == NSCOPE_OVS_EXECUTE) {
		struct sw_flow_key___nscope *k = a;
		struct nlattr *attr = b;
		__u16 len;

		if (k)
			x->recirc_id = BPF_CORE_READ(k, recirc_id);
		if (attr) {
			x->action = BPF_CORE_READ(attr, nla_type) & NSCOPE_NLA_TYPE_MASK;
			len = BPF_CORE_READ(attr, nla_len);
			if (len >= NSCOPE_NLA_HDRLEN + 4)
				bpf_probe_read_kernel(&x->action_arg, 4,
						      (char *)attr + NSCOPE_NLA_HDRLEN);
			if (x->action == NSCOPE_OVS_ACTION_CT)
				ovs_ct_fill(x, (char *)attr + NSCOPE_NLA_HDRLEN);
		}
		if (skb && !seen) {
			x->queue_id = ovs_queue_id(skb, kp);
			x->flags |= NSCOPE_OVS_HAS_QUEUE;
		}
	}
}


/* ---- nft: nf_tables' types, in the nf_tables module's BTF (as ovs's above). Two layouts of
 * __nft_trace_packet, told apart in userspace from BTF (nft_probe.cpp, cfg.nft_point):
 * - Linux 6.1's (info, chain, type): the rule and verdict are in info, set before the call;
 *   the packet is info->pkt.
 * - Linux 6.4's on (pkt, verdict, rule, info, type): info keeps only the base chain; the
 *   chain is the one the rule is in (the marker after its last rule, struct
 *   nft_rule_dp_last, names it), the base chain for a policy (no rule).
 * Called, once the nft_trace_enabled static key is on, for every rule a packet matches,
 * every chain's end and every base chain's policy, before the function looks at nftrace:
 * every packet is seen, traced or not. */
struct nft_table___nscope {
	__u64 handle;
	__u16 family : 6;
	char *name;
} __attribute__((preserve_access_index));

struct nft_chain___nscope {
	struct nft_table___nscope *table;
	__u64 handle;
	char *name;
} __attribute__((preserve_access_index));

struct nft_base_chain___nscope {
	struct nft_chain___nscope chain;
	__u8 policy;
} __attribute__((preserve_access_index));

struct nft_verdict___nscope {
	__u32 code;
	struct nft_chain___nscope *chain;
} __attribute__((preserve_access_index));

struct nft_rule_dp___nscope {
	__u64 is_last : 1;
	__u64 dlen : 12;
	__u64 handle : 42;
} __attribute__((preserve_access_index));

/* 6.4's on: after a chain's last rule, the marker that says which chain the rules are. */
struct nft_rule_dp_last___nscope {
	struct nft_rule_dp___nscope end;
	const struct nft_chain___nscope *chain;
} __attribute__((preserve_access_index));

struct nft_pktinfo___nscope {
	struct sk_buff *skb;
	const struct nf_hook_state *state;
} __attribute__((preserve_access_index));

struct nft_traceinfo___nscope {
	const struct nft_pktinfo___nscope *pkt;
	const struct nft_base_chain___nscope *basechain;
	const struct nft_rule_dp___nscope *rule;
	const struct nft_verdict___nscope *verdict;
} __attribute__((preserve_access_index));

#define NSCOPE_NFT_TRACETYPE_POLICY 1 /* enum nft_trace_types: UAPI */
#define NSCOPE_NFT_TRACETYPE_RETURN 2
#define NSCOPE_NFT_CONTINUE (-1)

#define NSCOPE_NFT_MAX_RULES 1024 /* rules walked to a chain's end marker (6.4's on) */

/* What an __nft_trace_packet call says, whichever its layout. */
struct nft_call {
	const struct nft_traceinfo___nscope *info;
	const struct nft_chain___nscope *chain;
	const struct nft_verdict___nscope *verdict;
	const struct nft_rule_dp___nscope *rule;
	const struct nft_pktinfo___nscope *pkt;
	__u32 type;
};

/* 6.4's on: the chain of a rule is named by the marker after the chain's last rule; no rule
 * (a policy): the base chain. */
static __always_inline const struct nft_chain___nscope *
nft_chain_of(const struct nft_rule_dp___nscope *rule, const struct nft_traceinfo___nscope *info)
{
	const struct nft_base_chain___nscope *base;
	int i;

	if (!rule) {
		base = BPF_CORE_READ(info, basechain);
		return base ? (void *)base + bpf_core_field_offset(base->chain) : NULL;
	}
	for (i = 0; i < NSCOPE_NFT_MAX_RULES; i++) {
		if (BPF_CORE_READ_BITFIELD_PROBED(rule, is_last))
			return BPF_CORE_READ((const struct nft_rule_dp_last___nscope *)rule, chain);
		rule = (void *)rule + bpf_core_type_size(struct nft_rule_dp___nscope) +
		       BPF_CORE_READ_BITFIELD_PROBED(rule, dlen);
	}
	return NULL;
}

/* The call's arguments as `point` (cfg.nft_point) lays them out; false when there is no
 * packet or no chain. */
static __always_inline bool nft_call_from(struct nft_call *c, const __u8 point, const __u64 *v)
{
	if (point == NSCOPE_NFT_POINT_61) { /* (info, chain, type) */
		/* Locals: a CO-RE read of c->x would relocate struct nft_call too. */
		const struct nft_traceinfo___nscope *info = (void *)v[0];

		c->info = info;
		c->chain = (void *)v[1];
		c->type = (__u32)v[2];
		c->verdict = BPF_CORE_READ(info, verdict);
		c->rule = BPF_CORE_READ(info, rule);
		c->pkt = BPF_CORE_READ(info, pkt);
	} else if (point == NSCOPE_NFT_POINT_64) { /* (pkt, verdict, rule, info, type) */
		c->pkt = (void *)v[0];
		c->verdict = (void *)v[1];
		c->rule = (void *)v[2];
		c->info = (void *)v[3];
		c->type = (__u32)v[4];
		c->chain = nft_chain_of(c->rule, c->info);
	} else {
		return false;
	}
	return c->pkt && c->chain;
}

/* The packet and its namespace of an __nft_trace_packet call. */
static __always_inline struct sk_buff *nft_packet(const struct nft_call *c, struct net **net)
{
	const struct nft_pktinfo___nscope *pkt = c->pkt;

	*net = BPF_CORE_READ(pkt, state, net);
	return BPF_CORE_READ(pkt, skb);
}

/* Retis's nft section from __nft_trace_packet's arguments. */
static __always_inline void nft_fill(struct nscope_nft_ext *x, const struct nft_call *c)
{
	const struct nft_traceinfo___nscope *info = c->info;
	const struct nft_chain___nscope *chain = c->chain;
	const struct nft_verdict___nscope *verdict = c->verdict;
	const struct nft_rule_dp___nscope *rule = c->rule;
	const struct nft_table___nscope *table = BPF_CORE_READ(chain, table);
	const struct nft_chain___nscope *vchain = NULL;
	__u32 type = c->type;
	__s32 code = verdict ? (__s32)BPF_CORE_READ(verdict, code) : NSCOPE_NFT_CONTINUE;

	x->has = 1;
	x->policy = type == NSCOPE_NFT_TRACETYPE_POLICY;
	x->verdict = x->policy ? (__s32)BPF_CORE_READ(info, basechain, policy) : code;
	x->table_handle = BPF_CORE_READ(table, handle);
	x->chain_handle = BPF_CORE_READ(chain, handle);
	x->family = BPF_CORE_READ_BITFIELD_PROBED(table, family);
	bpf_probe_read_kernel_str(x->table, sizeof(x->table), BPF_CORE_READ(table, name));
	bpf_probe_read_kernel_str(x->chain, sizeof(x->chain), BPF_CORE_READ(chain, name));
	x->verdict_chain[0] = 0;
	if (verdict && !x->policy)
		vchain = BPF_CORE_READ(verdict, chain);
	if (vchain)
		bpf_probe_read_kernel_str(x->verdict_chain, sizeof(x->verdict_chain),
					  BPF_CORE_READ(vchain, name));
	/* No rule: a policy, a chain's end (the marker after its last rule), a return. */
	x->rule_handle = -1;
	if (rule && !x->policy && !BPF_CORE_READ_BITFIELD_PROBED(rule, is_last) &&
	    !(type == NSCOPE_NFT_TRACETYPE_RETURN && code == NSCOPE_NFT_CONTINUE))
		x->rule_handle = BPF_CORE_READ_BITFIELD_PROBED(rule, handle);
}

/* The probe's arguments that say where the packet is. */
struct probe_args {
	struct sk_buff *skb;
	struct net_device *dev;
	struct net *net;
	__u32 reason;
	void *ovs_a, *ovs_b; /* an openvswitch tracepoint's own (see ovs_fill) */
	struct nft_call nft; /* nft: the __nft_trace_packet call */
};

/* Packet bytes are plain loads in a tp_btf or fentry program on a kernel that allows them;
 * read where used, so nothing is kept in a register across the program. */
#define DIRECT(kp) (direct_packet && !(kp))

/* One event for a probe hit. `kp`: the arguments are bare numbers (a kprobe); `ctx` is the
 * program's context (for the stack); `func_ip` the probed function where known. */
static __always_inline int emit(void *ctx, const __u32 slot, struct sk_buff *skb,
				struct net_device *argdev, struct net *argnet, __u32 reason,
				void *ovs_a, void *ovs_b, const struct nft_call *nft, __u64 func_ip,
				const bool kp)
{
	/* Read straight from .rodata (no copy): the verifier then knows each value, so the
	 * branches for other argument layouts are dead code it never checks. */
#define cfg probe_cfg[slot]
	struct net_device *dev = NULL;
	struct nscope_track *tv = NULL;
	struct nscope_pkt_buf *buf = NULL;
	struct where where = {};
	struct pkt_view view = {};
	struct nscope_stack_ext *st = NULL;
	struct nscope_event *e;
	void *ring;
	__u32 cpu;
	int filtered = -1; /* bytes -f read into buf, -1 when it did not run */
	__u64 now = 0;
	__u32 zero = 0;
	bool seen = false; /* followed before this event */

	if ((collectors & NSCOPE_COLLECT_TRACK) && skb) {
		now = bpf_ktime_get_ns();
		tv = track_find(skb, now, kp);
		if (!tv && (cfg.flags & NSCOPE_PROBE_ONLY_TRACKED))
			return 0; /* a free of a packet nobody followed */
		seen = tv != NULL;
	}

	/* Filters decide on first sight only: a packet already followed stays followed across
	 * namespaces, NAT and encapsulation. A packet they reject costs only what they read. */
	if (!tv) {
		if (netns_filter_mode) {
			find_netns(&where, skb, argdev, argnet, kp);
			if (!netns_wanted(&where))
				return 0;
		}
		if (filter_meta && (!skb || !nscope_filter_meta(skb)))
			return 0;
		if (filter_packet) {
			if (!skb)
				return 0;
			view_packet(&view, skb, kp);
			filtered = match_packet(&buf, &view, DIRECT(kp));
			if (filtered < 0)
				return 0;
		}
		if ((collectors & NSCOPE_COLLECT_TRACK) && skb)
			tv = track_new(skb, now, kp);
	}
	if ((collectors & NSCOPE_COLLECT_NS) && where.src == NSCOPE_NS_NONE)
		find_netns(&where, skb, argdev, argnet, kp);
	if (!now)
		now = bpf_ktime_get_ns();
	if (collectors & NSCOPE_COLLECT_STACK) {
		st = bpf_map_lookup_elem(&stack_scratch, &zero);
		if (st) {
			long n = bpf_get_stack(ctx, st->ips, sizeof(st->ips), 0);

			st->nr = n > 0 ? n / sizeof(__u64) : 0;
		}
	}

	cpu = bpf_get_smp_processor_id();
	ring = bpf_map_lookup_elem(&rings, &cpu);
	e = ring ? bpf_ringbuf_reserve(ring, record_size, 0) : NULL;
	if (!e) {
		count(&lost, slot);
		if (tv && (cfg.flags & NSCOPE_PROBE_FREES))
			untrack(skb, kp);
		return 0;
	}
	e->ts = now;
	e->probe = slot;
	e->cpu = cpu;
	if (kp) {
		__u64 id = bpf_get_current_pid_tgid();

		e->pid = (__u32)id;
		e->tgid = id >> 32;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	} else {
		/* Plain loads from the BTF-typed current task: cheaper than the pid and comm
		 * helpers, which copy the name a byte at a time. */
		struct task_struct *task = bpf_get_current_task_btf();

		e->pid = task->pid;
		e->tgid = task->tgid;
		__builtin_memcpy(e->comm, task->comm, sizeof(e->comm));
	}
	e->skb = (__u64)skb;
	e->flags = 0;
	e->ns_src = where.src;
	e->netns_inum = where.inum;
	e->netns_cookie = where.cookie;
	e->ifindex = 0;
	e->rx_ifindex = 0;
	e->ifname[0] = 0;
	e->len = e->data_len = e->mark = 0;
	e->protocol = 0;
	e->caplen = 0;
	e->l2len = e->pad = 0;
	e->track_ts = e->orig_head = 0;
	e->drop_reason = 0;
	e->wirelen = 0;
	e->func_ip = func_ip;
	if (tv) {
		e->flags |= NSCOPE_EV_HAS_TRACK;
		e->track_ts = tv->ts;
		e->orig_head = tv->orig_head;
	}
	if ((collectors & NSCOPE_COLLECT_DROP) && cfg.reason_arg != NSCOPE_ARG_NONE) {
		e->flags |= NSCOPE_EV_HAS_DROP;
		e->drop_reason = reason;
	}

	if (skb) {
		e->flags |= NSCOPE_EV_HAS_SKB;
		dev = RD(kp, skb, dev);
	}
	if (!dev)
		dev = argdev;

	if ((collectors & NSCOPE_COLLECT_DEV) && dev) {
		e->ifindex = RD(kp, dev, ifindex);
		if (kp)
			bpf_core_read(e->ifname, sizeof(e->ifname), &dev->name);
		else /* two plain 8-byte loads: no helper call is needed */
			__builtin_memcpy(e->ifname, dev->name, sizeof(e->ifname));
		if (skb)
			e->rx_ifindex = RD(kp, skb, skb_iif);
	}
	if ((collectors & NSCOPE_COLLECT_SKB) && skb) {
		e->len = RD(kp, skb, len);
		e->data_len = RD(kp, skb, data_len);
		e->mark = RD(kp, skb, mark);
		e->protocol = RD(kp, skb, protocol);
		if (filtered >= 0 && buf) { /* -f read the bytes into the scratch already */
			__builtin_memcpy(e->data, buf->data, NSCOPE_PKT_CAPTURE);
			e->flags |= view.flags;
			e->l2len = view.l2len;
			e->caplen = filtered < NSCOPE_PKT_CAPTURE ? filtered : NSCOPE_PKT_CAPTURE;
		} else {
			if (filtered < 0) /* else -f made the view */
				view_packet(&view, skb, kp);
			capture(e, &view, DIRECT(kp));
		}
		e->wirelen = view.wirelen;
	}
	if (collectors & NSCOPE_COLLECT_CT) {
		struct nscope_ct_ext *x = (void *)(e + 1);

		__builtin_memset(x, 0, sizeof(*x));
		if (skb)
			ct_fill(x, skb, &e->flags, kp);
	}
	if (collectors & NSCOPE_COLLECT_OVS) {
		struct nscope_ovs_ext *x = (void *)((char *)e + ovs_offset);

		if (cfg.ovs_point != NSCOPE_OVS_NONE) {
			ovs_fill(x, cfg.ovs_point, ovs_a, ovs_b, skb, seen, kp);
			e->flags |= NSCOPE_EV_HAS_OVS;
		} else {
			__builtin_memset(x, 0, sizeof(*x));
		}
	}
	if (collectors & NSCOPE_COLLECT_NFT) {
		struct nscope_nft_ext *x = (void *)((char *)e + nft_offset);

		if (cfg.nft_point)
			nft_fill(x, nft);
		else
			x->has = 0;
	}
	if (collectors & NSCOPE_COLLECT_STACK) {
		struct nscope_stack_ext *to = (void *)((char *)e + stack_offset);

		if (st) {
			__builtin_memcpy(to, st, sizeof(*to));
			if (st->nr)
				e->flags |= NSCOPE_EV_HAS_STACK;
		} else {
			to->nr = 0;
		}
	}
	if (tv && (cfg.flags & NSCOPE_PROBE_FREES))
		untrack(skb, kp);
#undef cfg
	bpf_ringbuf_submit(e, wakeup_flag(ring, record_size));
	return 0;
}

/* tp_btf, fentry, fexit: the arguments are the context's slots, typed by the kernel. */
static __always_inline int handle(__u64 *ctx, const __u32 slot)
{
#define cfg probe_cfg[slot]
	struct probe_args a = {};

	if (cfg.skb_arg != NSCOPE_ARG_NONE)
		a.skb = arg(ctx, cfg.skb_arg);
	if (cfg.dev_arg != NSCOPE_ARG_NONE)
		a.dev = arg(ctx, cfg.dev_arg);
	if (cfg.net_arg != NSCOPE_ARG_NONE)
		a.net = arg(ctx, cfg.net_arg);
	if (cfg.reason_arg != NSCOPE_ARG_NONE)
		a.reason = (__u32)(__u64)arg(ctx, cfg.reason_arg);
	if (cfg.ovs_point == NSCOPE_OVS_UPCALL) {
		a.ovs_a = arg(ctx, cfg.upcall_arg);
	} else if (cfg.ovs_point == NSCOPE_OVS_EXECUTE) {
		a.ovs_a = arg(ctx, cfg.key_arg);
		a.ovs_b = arg(ctx, cfg.attr_arg);
	}
#undef cfg
	return emit(ctx, slot, a.skb, a.dev, a.net, a.reason, a.ovs_a, a.ovs_b, &a.nft, 0, false);
}

/* kprobe arguments: the registers of the calling convention (x86-64: rdi, rsi, rdx, rcx, r8,
 * r9), which are context loads. */
static __always_inline __u64 reg_arg(struct pt_regs *regs, __u32 i)
{
	switch (i) {
	case 0: return regs->di;
	case 1: return regs->si;
	case 2: return regs->dx;
	case 3: return regs->cx;
	case 4: return regs->r8;
	case 5: return regs->r9;
	}
	return 0;
}

/* kretprobe: what the function was called with, saved at its entry by kret_entry, per
 * thread and function. */
struct kret_key {
	__u64 func_ip;
	__u32 tid;
	__u32 pad;
};
struct kret_args {
	__u64 regs[NSCOPE_KRET_ARGS];
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct kret_key);
	__type(value, struct kret_args);
} kret_saved SEC(".maps");

static __always_inline int handle_kprobe(struct pt_regs *regs, const __u32 slot, const bool ret)
{
#define cfg probe_cfg[slot]
	struct probe_args a = {};
	struct kret_key key = {};
	struct kret_args *saved = NULL;
	__u64 v[NSCOPE_KRET_ARGS] = {};
	__u64 ip = bpf_get_func_ip(regs);
	int i;

	if (ret) {
		key.func_ip = ip;
		key.tid = (__u32)bpf_get_current_pid_tgid();
		saved = bpf_map_lookup_elem(&kret_saved, &key);
		if (!saved)
			return 0; /* entered before we attached */
		__builtin_memcpy(v, saved->regs, sizeof(v));
		bpf_map_delete_elem(&kret_saved, &key);
	} else {
#pragma unroll
		for (i = 0; i < NSCOPE_KRET_ARGS; i++)
			v[i] = reg_arg(regs, i);
	}
	if (cfg.skb_arg < NSCOPE_KRET_ARGS)
		a.skb = (void *)v[cfg.skb_arg];
	if (cfg.dev_arg < NSCOPE_KRET_ARGS)
		a.dev = (void *)v[cfg.dev_arg];
	if (cfg.net_arg < NSCOPE_KRET_ARGS)
		a.net = (void *)v[cfg.net_arg];
	if (cfg.reason_arg < NSCOPE_KRET_ARGS)
		a.reason = (__u32)v[cfg.reason_arg];
	if (cfg.ovs_point == NSCOPE_OVS_UPCALL && cfg.upcall_arg < NSCOPE_KRET_ARGS) {
		a.ovs_a = (void *)v[cfg.upcall_arg];
	} else if (cfg.ovs_point == NSCOPE_OVS_EXECUTE && cfg.key_arg < NSCOPE_KRET_ARGS &&
		   cfg.attr_arg < NSCOPE_KRET_ARGS) {
		a.ovs_a = (void *)v[cfg.key_arg];
		a.ovs_b = (void *)v[cfg.attr_arg];
	}
	if (cfg.nft_point) { /* __nft_trace_packet, either layout */
		if (!nft_call_from(&a.nft, cfg.nft_point, v))
			return 0;
		a.skb = nft_packet(&a.nft, &a.net);
		if (!a.skb)
			return 0;
	}
#undef cfg
	return emit(regs, slot, a.skb, a.dev, a.net, a.reason, a.ovs_a, a.ovs_b, &a.nft, ip,
		    true);
}

/* Attached at the entry of every function a kretprobe slot watches. */
SEC("kprobe")
int kret_entry(struct pt_regs *regs)
{
	struct kret_key key = {};
	struct kret_args args;
	int i;

	key.func_ip = bpf_get_func_ip(regs);
	key.tid = (__u32)bpf_get_current_pid_tgid();
#pragma unroll
	for (i = 0; i < NSCOPE_KRET_ARGS; i++)
		args.regs[i] = reg_arg(regs, i);
	bpf_map_update_elem(&kret_saved, &key, &args, BPF_ANY);
	return 0;
}

#define SLOT(n)                                                            \
	SEC("nscope.tp_btf") /* tp_btf (or fentry/fexit), with filters put in */ \
	int probe_##n(__u64 *ctx)                                          \
	{                                                                  \
		return handle(ctx, n);                                     \
	}                                                                  \
	SEC("nscope.kprobe")                                               \
	int kprobe_##n(struct pt_regs *regs)                               \
	{                                                                  \
		return handle_kprobe(regs, n, false);                      \
	}                                                                  \
	SEC("nscope.kprobe") /* attached as a kretprobe */                 \
	int kretprobe_##n(struct pt_regs *regs)                            \
	{                                                                  \
		return handle_kprobe(regs, n, true);                       \
	}

SLOT(0) SLOT(1) SLOT(2) SLOT(3) SLOT(4) SLOT(5) SLOT(6) SLOT(7)
SLOT(8) SLOT(9) SLOT(10) SLOT(11) SLOT(12) SLOT(13) SLOT(14) SLOT(15)
SLOT(16) SLOT(17) SLOT(18) SLOT(19) SLOT(20) SLOT(21) SLOT(22) SLOT(23)
SLOT(24) SLOT(25) SLOT(26) SLOT(27) SLOT(28) SLOT(29) SLOT(30) SLOT(31)
