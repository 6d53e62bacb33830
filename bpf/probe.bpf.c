// SPDX-License-Identifier: GPL-2.0
/* Feature probes for `nscope info`: one tiny program per attach type. User space loads each
 * alone (autoload off for the others) and attaches it, so the answer is what this kernel
 * really allows, not what its version suggests. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "nscope.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(probe_tp_btf, struct sk_buff *skb)
{
	return 0;
}

SEC("raw_tp/netif_receive_skb")
int probe_raw_tp(void *ctx)
{
	return 0;
}

SEC("tracepoint/net/netif_receive_skb")
int probe_tracepoint(void *ctx)
{
	return 0;
}

SEC("iter/task")
int probe_iter(struct bpf_iter__task *ctx)
{
	return 0;
}

SEC("kprobe/netif_receive_skb")
int probe_kprobe(void *ctx)
{
	return 0;
}

SEC("fentry/netif_receive_skb")
int BPF_PROG(probe_fentry, struct sk_buff *skb)
{
	return 0;
}

/* kprobe-multi: many functions behind one link (5.18+, CONFIG_FPROBE). */
SEC("kprobe.multi")
int probe_kprobe_multi(void *ctx)
{
	return 0;
}

/* A plain load from packet memory, as collect makes when the verifier allows it (6.16+). */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(probe_direct_packet, struct sk_buff *skb)
{
	unsigned char *head = skb->head;

	return *(__u64 *)head == 1;
}
