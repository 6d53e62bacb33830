/* Placeholders for the filters user space compiles (src/filter/): `-f` (pcap-filter syntax,
 * turned from classic BPF into eBPF) and `-m` (fields of struct sk_buff through BTF). Each is
 * a real function in the object; before load, src/filter/patch.cpp finds it by the constant
 * in its body and replaces the body with the compiled code. A stub left as it is never runs:
 * callers test a .rodata flag first.
 *
 * The asm statements keep the compiler from knowing the result or dropping an argument, so
 * the call and the calling convention (arguments in r1..r4, result in r0) stay as declared. */
#ifndef NSCOPE_FILTER_STUBS_H
#define NSCOPE_FILTER_STUBS_H

#include "nscope.h"

#define NSCOPE_STR_(x) #x
#define NSCOPE_STR(x) NSCOPE_STR_(x)

/* Non-zero when the packet matches. buf: the packet's first bytes, caplen of them valid
 * (at most NSCOPE_FILTER_BYTES): in a map value, or where they lie in the skb when the kernel
 * allows plain loads there; wirelen: the packet's length from the same header; is_l2: buf
 * starts at an Ethernet header, else at the IP header. */
static __attribute__((noinline)) int nscope_filter_packet(__u8 *buf, __u32 caplen,
							  __u32 wirelen, __u32 is_l2)
{
	int ret;

	asm volatile("" ::"r"(buf), "r"(caplen), "r"(wirelen), "r"(is_l2));
	asm volatile("%0 = " NSCOPE_STR(NSCOPE_STUB_PACKET) " ll" : "=r"(ret));
	return ret;
}

/* Non-zero when the sk_buff's fields match the -m expression. */
static __attribute__((noinline)) int nscope_filter_meta(void *skb)
{
	int ret;

	asm volatile("" ::"r"(skb));
	asm volatile("%0 = " NSCOPE_STR(NSCOPE_STUB_META) " ll" : "=r"(ret));
	return ret;
}

#endif /* NSCOPE_FILTER_STUBS_H */
