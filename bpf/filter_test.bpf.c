// SPDX-License-Identifier: GPL-2.0
/* Test harness for the filters nscope compiles (tests/system/filter_test_run.h), through
 * BPF_PROG_TEST_RUN: collect's own programs are tp_btf, fentry/fexit and kprobe programs,
 * which the kernel cannot test-run on a packet (tp_btf and kprobe have no test run at all,
 * fentry's only calls bpf_fentry_test*), so the filters they call are run from here.
 *  - run_packet_filter: the -f stub on a packet user space writes into a map, so the
 *    translated eBPF can be compared with libpcap's own interpreter packet by packet.
 *  - run_meta_filter: the -m stub on a real struct sk_buff, which the kernel builds for a tc
 *    program's test run from the packet and the __sk_buff fields given (mark, ifindex). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "nscope.h"
#include "filter_stubs.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nscope_filter_test_input);
} input SEC(".maps");

int result = -1;

SEC("nscope.raw_tp")
int run_packet_filter(void *ctx)
{
	struct nscope_filter_test_input *in;
	__u32 zero = 0, cap;

	in = bpf_map_lookup_elem(&input, &zero);
	if (!in)
		return 0;
	cap = in->caplen;
	if (cap > NSCOPE_FILTER_BYTES)
		cap = NSCOPE_FILTER_BYTES;
	result = nscope_filter_packet(in->data, cap, in->wirelen, in->is_l2 != 0);
	return 0;
}

int meta_result = -1;

SEC("nscope.tc")
int run_meta_filter(struct __sk_buff *skb)
{
	/* At run time a tc program's context is the sk_buff itself. */
	meta_result = nscope_filter_meta(skb);
	return 0; /* TC_ACT_OK */
}
