// SPDX-License-Identifier: GPL-2.0
/* Test harness for the filters nscope compiles (tests/system/filter_test.cpp): runs the -f
 * stub on a packet user space writes into a map, through BPF_PROG_TEST_RUN, so the
 * translated eBPF can be compared with libpcap's own interpreter packet by packet. */
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
