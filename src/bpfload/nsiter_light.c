/* See nsiter_light.h. */
#include "bpfload/nsiter_light.h"

#include <errno.h>

#include "nsiter.lskel.h"

int nsiter_light_load(struct nsiter **out, const struct nscope_kernel_offsets *offsets,
		      __u32 net_steps, __u32 ring_bytes, char *log, __u32 log_size)
{
	struct nsiter *skel;
	int err;

	*out = NULL;
	skel = nsiter__open();
	if (!skel)
		return -ENOMEM;
	skel->rodata->off = *offsets;
	skel->rodata->want_nets = net_steps != 0;
	if (net_steps)
		skel->rodata->walk_max_steps = net_steps;
	/* The light skeleton's loader takes a map's size from here when it is not 0. */
	if (ring_bytes)
		skel->maps.nets.max_entries = ring_bytes;
	if (log && log_size) {
		log[0] = 0;
		skel->ctx.log_level = 1;
		skel->ctx.log_size = log_size;
		skel->ctx.log_buf = (__u64)(unsigned long)log;
	}
	err = nsiter__load(skel);
	if (err) {
		nsiter__destroy(skel);
		return err < 0 ? err : -EINVAL;
	}
	*out = skel;
	return 0;
}

void nsiter_light_destroy(struct nsiter *skel)
{
	nsiter__destroy(skel);
}

struct nsiter_light_fds nsiter_light_get_fds(const struct nsiter *skel)
{
	struct nsiter_light_fds fds = {
		.dump_tasks = skel->progs.dump_tasks.prog_fd,
		.dump_files = skel->progs.dump_files.prog_fd,
		.walk_only = skel->progs.walk_only.prog_fd,
		.nets = skel->maps.nets.map_fd,
	};
	return fds;
}

__u64 nsiter_light_walk_dropped(const struct nsiter *skel)
{
	return skel->bss->walk_dropped;
}

__u32 nsiter_light_ring_bytes(const struct nsiter *skel)
{
	return skel->maps.nets.max_entries;
}

__u32 nsiter_light_walk_truncated(const struct nsiter *skel)
{
	return skel->bss->walk_truncated;
}

__u32 nsiter_light_nsids_walked(const struct nsiter *skel)
{
	return skel->bss->nsids_walked;
}

void nsiter_light_reset_counters(struct nsiter *skel)
{
	skel->bss->walk_dropped = 0;
	skel->bss->walk_truncated = 0;
	skel->bss->nsids_walked = 0;
}
