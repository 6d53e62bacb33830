/* The light skeleton of bpf/nsiter.bpf.c behind a small C interface: the generated
 * nsiter.lskel.h (libbpf's skel_internal.h under it) compiles as C only. Its loader is a BPF
 * program the kernel runs: it creates the maps, finds the iterators' attach targets in the
 * kernel's BTF and loads the programs, with no libbpf in user space to parse that BTF. */
#ifndef NSCOPE_NSITER_LIGHT_H
#define NSCOPE_NSITER_LIGHT_H

#include <linux/types.h>

#include "nscope.h"

#ifdef __cplusplus
extern "C" {
#endif

struct nsiter; /* the generated skeleton: owns the programs, the maps and the .bss mapping */

struct nsiter_light_fds {
	int dump_tasks; /* iter/task; with nets, walks struct net's list on its first call */
	int dump_files; /* iter/task_file */
	int walk_only;  /* iter/bpf_map: walks struct net's list on its first call, nothing else */
	int nets;       /* the ring buffer of that walk */
};

/* Loads every program and map of nsiter.bpf.c, the programs reading kernel structures at
 * `offsets`; dump_tasks walks the network namespaces in at most `net_steps` steps (one per
 * namespace and per device), none when 0, into a ring buffer of `ring_bytes` (a power of 2,
 * at least a page; 0: the 2 MiB nsiter.bpf.c declares). On success
 * returns 0 and the skeleton in *out; on failure returns a negative errno. With
 * log_size > 0 the kernel writes its verifier log (of the loader and of each program) into
 * log. */
int nsiter_light_load(struct nsiter **out, const struct nscope_kernel_offsets *offsets,
		      __u32 net_steps, __u32 ring_bytes, char *log, __u32 log_size);
/* Closes everything the skeleton holds; NULL is allowed. */
void nsiter_light_destroy(struct nsiter *skel);
struct nsiter_light_fds nsiter_light_get_fds(const struct nsiter *skel);
/* The net walk's counters (.bss): records the ring buffer refused; whether it hit its bound. */
__u64 nsiter_light_walk_dropped(const struct nsiter *skel);
__u32 nsiter_light_walk_truncated(const struct nsiter *skel);
/* Whether the last walk read its first namespace's whole nsid table. */
__u32 nsiter_light_nsids_walked(const struct nsiter *skel);
/* The size of the walk's ring buffer as asked at load (0: as declared). */
__u32 nsiter_light_ring_bytes(const struct nsiter *skel);
/* Zeroes those counters, for a walk again with the same programs. */
void nsiter_light_reset_counters(struct nsiter *skel);

#ifdef __cplusplus
}
#endif

#endif /* NSCOPE_NSITER_LIGHT_H */
