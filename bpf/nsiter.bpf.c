// SPDX-License-Identifier: GPL-2.0
/* One-pass kernel walks for `nscope list`:
 *   dump_tasks  (iter/task)      every thread and the namespaces it holds; on its first
 *                                call also every live network namespace and its devices,
 *                                by following struct net's list (a circular list through
 *                                net_namespace_list), into the ring buffer `nets`;
 *   walk_only   (iter/bpf_map)   only the network namespaces and their devices;
 *   dump_files  (iter/task_file) open nsfs files, and sockets living in another netns
 *                                than the task that holds them.
 * Records are defined in nscope.h, shared with user space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "nscope.h"

char LICENSE[] SEC("license") = "GPL";

#define NSFS_MAGIC 0x6e736673
#define PF_KTHREAD 0x00200000

/* Where to read in kernel structures, set by user space from the kernel's BTF before load.
 * Every read below is a bpf_probe_read_kernel() at such an offset: no CO-RE relocation is
 * left for the kernel to resolve, so loading costs only the verifier's pass. */
const volatile struct nscope_kernel_offsets off = {};
/* Whether dump_tasks also walks the network namespaces, and its bound in steps (one step per
 * namespace and per device; set before load: tests lower it to see a walk cut short). */
const volatile __u32 want_nets = 1;
const volatile __u32 walk_max_steps = 1 << 20;

/* The iterators' contexts as the kernel lays them out, one 8-byte slot per argument; user
 * space checks these offsets against the kernel's BTF before load. Plain structs, not
 * vmlinux.h's: those would bring CO-RE relocations back. */
struct iter_meta {
	struct seq_file *seq;
};
struct iter_task_ctx {
	struct iter_meta *meta;
	struct task_struct *task;
};
struct iter_bpf_map_ctx {
	struct iter_meta *meta;
	void *map;
};
struct iter_task_file_ctx {
	struct iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* A namespace with a loopback and a veth takes 168 bytes here: room for about 12,000.
	 * A walk that overflows it says so, and user space reads the counts through netlink. */
	__uint(max_entries, 1 << 21);
} nets SEC(".maps");

/* Read by user space after a walk: records the ring buffer could not take, and whether the
 * walk stopped at its bound before closing the circle. */
__u64 walk_dropped = 0;
__u32 walk_truncated = 0;
/* Whether the walk read the whole nsid table of the namespace it started from. */
__u32 nsids_walked = 0;
/* Zero, but not a constant to the verifier (it lives in .bss, which user space could write).
 * Before Linux 6.8 the verifier checked a bpf_loop callback once, from the state at the call,
 * and turned the branches that state cannot reach into dead code: a walk whose state started
 * from constants re-entered its first namespace until the bound. Starting from this keeps
 * every branch of walk_step. */
__u64 walk_unknown_zero = 0;

/* The value at byte offset `at` of kernel object `p`; 0 when the read faults, as it does
 * when p is NULL (as BPF_CORE_READ, and without a branch: each branch multiplies the
 * states the verifier walks through). */
static __always_inline __u64 read_ptr(const void *p, __u32 at)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (const char *)p + at);
	return v;
}

static __always_inline __u32 read_u32(const void *p, __u32 at)
{
	__u32 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), (const char *)p + at);
	return v;
}

#define PTR(p, at) ((void *)read_ptr((p), (at)))

/* The inode number of a namespace, from the struct ns_common at `ns_at` inside it. */
static __always_inline __u32 ns_inum(const void *ns, __u32 ns_at)
{
	return read_u32(ns, ns_at + off.ns_inum);
}

struct walk_state {
	__u64 start;    /* the struct net the walk began at */
	__u64 ops;      /* its ns_common.ops: &netns_operations */
	__u64 net;      /* the struct net being walked */
	__u64 dev_node; /* list_head of the next device, 0 before the first */
	__u64 dev_head; /* &net->dev_base_head */
	__u32 done;
};

static __always_inline void emit_net(void *net)
{
	struct nscope_net_rec rec = {};

	rec.kind = NSCOPE_REC_NET;
	rec.inum = ns_inum(net, off.net_ns);
	rec.cookie = read_ptr(net, off.net_cookie);
	rec.owner_inum = ns_inum(PTR(net, off.net_user_ns), off.user_ns);
	if (off.ns_id != NSCOPE_NO_FIELD)
		rec.ns_id = read_ptr(net, off.net_ns + off.ns_id);
	if (bpf_ringbuf_output(&nets, &rec, sizeof(rec), 0))
		__sync_fetch_and_add(&walk_dropped, 1);
}

static __always_inline void emit_dev(struct walk_state *w, void *dev)
{
	struct nscope_dev_rec rec = {};
	void *kind, *peer, *peer_net;
	char link_kind[8] = {};

	rec.kind = NSCOPE_REC_DEV;
	rec.net_inum = ns_inum((void *)w->net, off.net_ns);
	rec.ifindex = read_u32(dev, off.dev_ifindex);
	rec.key = (__u64)dev;
	bpf_probe_read_kernel_str(rec.name, sizeof(rec.name), (const char *)dev + off.dev_name);
	kind = PTR(PTR(dev, off.dev_link_ops), off.link_ops_kind);
	bpf_probe_read_kernel_str(link_kind, sizeof(link_kind), kind); /* "" if none */
	if (read_ptr(dev, off.dev_ifalias))
		rec.flags |= NSCOPE_DEV_ALIAS;
	/* veth: struct veth_priv starts with `struct net_device __rcu *peer` (may be NULL). */
	if (link_kind[0] == 'v' && link_kind[1] == 'e' && link_kind[2] == 't' &&
	    link_kind[3] == 'h' && link_kind[4] == 0) {
		rec.flags |= NSCOPE_DEV_VETH;
		peer = PTR(dev, off.dev_priv);
		peer_net = PTR(peer, off.dev_net);
		rec.peer_ifindex = read_u32(peer, off.dev_ifindex);
		rec.peer_key = (__u64)peer;
		rec.peer_net_inum = ns_inum(peer_net, off.net_ns);
		rec.peer_net_cookie = read_ptr(peer_net, off.net_cookie);
	}
	if (bpf_ringbuf_output(&nets, &rec, sizeof(rec), 0))
		__sync_fetch_and_add(&walk_dropped, 1);
}

static long walk_step(__u32 i, struct walk_state *w)
{
	void *net = (void *)w->net;
	__u64 node;
	int hops;

	if (!w->dev_node) { /* entering a namespace */
		emit_net(net);
		w->dev_head = w->net + off.net_dev_base_head;
		w->dev_node = read_ptr((void *)w->dev_head, off.list_next);
		return 0;
	}
	if (w->dev_node != w->dev_head) {
		emit_dev(w, (void *)(w->dev_node - off.dev_list));
		w->dev_node = read_ptr((void *)w->dev_node, off.list_next);
		return 0;
	}
	/* Next namespace. The circle passes once through net_namespace_list itself, which is
	 * no struct net: skip the entry whose ns_common.ops is not the network namespaces'
	 * operations (every kernel has `ops`; `ns_type`, which would also tell, is 6.18+). */
	node = w->net + off.net_list;
	for (hops = 0; hops < 2; hops++) {
		node = read_ptr((void *)node, off.list_next);
		net = (void *)(node - off.net_list);
		if ((__u64)net == w->start) {
			w->done = 1;
			return 1;
		}
		if (read_ptr(net, off.net_ns + off.ns_ops) == w->ops)
			break;
	}
	w->net = (__u64)net;
	w->dev_node = 0;
	return 0;
}

/* The nsid table (an IDR: an xarray of struct net pointers, indexed by nsid), depth first.
 * An xarray node has 64 slots; an entry whose low bits are 10 (and above 4096) is a node
 * one level down, one with other low bits set is an internal or value entry (none in this
 * table); four levels hold 2^24 nsids. */
#define XA_SLOTS 64
#define XA_LEVELS 4
struct nsid_state {
	__u64 node[XA_LEVELS];
	__u32 slot[XA_LEVELS];  /* the next slot to look at, per level */
	__u32 shift[XA_LEVELS];
	__u32 depth;
	__u32 done;
};

static __always_inline void emit_nsid(__s32 nsid, void *net)
{
	struct nscope_nsid_rec rec = {};

	rec.kind = NSCOPE_REC_NSID;
	rec.nsid = nsid;
	rec.inum = ns_inum(net, off.net_ns);
	if (bpf_ringbuf_output(&nets, &rec, sizeof(rec), 0))
		__sync_fetch_and_add(&walk_dropped, 1);
}

static long nsid_step(__u32 i, struct nsid_state *s)
{
	__u32 d = s->depth & (XA_LEVELS - 1);
	__u32 slot = s->slot[d];
	__u64 entry, index = 0;
	int k;

	if (slot >= XA_SLOTS) { /* this node is done: back up */
		if (d == 0) {
			s->done = 1;
			return 1;
		}
		s->depth = d - 1;
		return 0;
	}
	s->slot[d] = slot + 1;
	entry = read_ptr((void *)s->node[d], off.xa_node_slots + slot * 8);
	if (!entry)
		return 0;
	if ((entry & 3) == 2 && entry > 4096) { /* a node */
		if (d + 1 >= XA_LEVELS)
			return 0;
		s->depth = d + 1;
		s->node[(d + 1) & (XA_LEVELS - 1)] = entry - 2;
		s->slot[(d + 1) & (XA_LEVELS - 1)] = 0;
		s->shift[(d + 1) & (XA_LEVELS - 1)] =
			read_u32((void *)(entry - 2), off.xa_node_shift) & 0xff;
		return 0;
	}
	if (entry & 3)
		return 0;
	for (k = 0; k < XA_LEVELS; k++)
		if (k <= d)
			index += (__u64)(s->slot[k] - 1) << (s->shift[k] & 63);
	emit_nsid((__s32)index, (void *)entry);
	return 0;
}

static __always_inline void walk_nsids(void *net)
{
	struct nsid_state s = {};
	__u64 head;

	if (off.net_nsids_head == NSCOPE_NO_FIELD)
		return;
	head = read_ptr(net, off.net_nsids_head);
	if (!head) {
		nsids_walked = 1;
		return;
	}
	if (!((head & 3) == 2 && head > 4096)) { /* one entry, at index 0 */
		if (!(head & 3))
			emit_nsid(0, (void *)head);
		nsids_walked = 1;
		return;
	}
	s.node[0] = head - 2;
	s.shift[0] = read_u32((void *)s.node[0], off.xa_node_shift) & 0xff;
	s.depth = walk_unknown_zero;
	bpf_loop(walk_max_steps, nsid_step, &s, 0);
	if (s.done)
		nsids_walked = 1;
}

/* Every live network namespace and its devices, into the ring buffer: the circle of
 * struct net's list, starting from our own namespace; then our namespace's nsids. */
static __always_inline void walk_nets(void)
{
	struct walk_state w = {};
	void *me = (void *)bpf_get_current_task();

	w.start = read_ptr(PTR(me, off.task_nsproxy), off.nsproxy_net);
	w.ops = read_ptr((void *)w.start, off.net_ns + off.ns_ops);
	w.net = w.start;
	w.dev_node = walk_unknown_zero;
	w.dev_head = walk_unknown_zero;
	bpf_loop(walk_max_steps, walk_step, &w, 0);
	if (!w.done)
		walk_truncated = 1;
	walk_nsids((void *)w.start);
}

/* The namespaces and devices alone (`watch` walks them at every device change): an iterator
 * over BPF maps, of which there are few, that walks on its first call and writes nothing. */
SEC("iter/bpf_map")
int walk_only(struct iter_bpf_map_ctx *ctx)
{
	if (ctx->map && read_ptr(ctx->meta, off.meta_seq_num) == 0)
		walk_nets();
	return 0;
}

SEC("iter/task")
int dump_tasks(struct iter_task_ctx *ctx)
{
	struct task_struct *task = ctx->task;
	struct seq_file *seq = ctx->meta->seq;
	struct nscope_task_rec rec = {};
	void *nsp, *tpid, *ns;
	unsigned int level;

	/* The verifier checks a load through a BTF pointer by a search of the kernel's BTF:
	 * load `seq` here, once, not on each of the paths that end in bpf_seq_write(). */
	barrier_var(seq);
	if (!task)
		return 0;
	if (want_nets && read_ptr(ctx->meta, off.meta_seq_num) == 0)
		walk_nets(); /* here, not in an iterator of its own: one walk of the tasks less */
	nsp = PTR(task, off.task_nsproxy);
	if (!nsp) /* exiting or zombie: it holds nothing any more */
		return 0;

	rec.kind = NSCOPE_REC_TASK;
	rec.tgid = read_u32(task, off.task_tgid);
	rec.tid = read_u32(task, off.task_pid);
	if (read_u32(task, off.task_flags) & PF_KTHREAD)
		rec.flags |= NSCOPE_TASK_KTHREAD;
	ns = PTR(nsp, off.nsproxy_net);
	rec.inum[NSCOPE_SLOT_NET] = ns_inum(ns, off.net_ns);
	rec.net_cookie = read_ptr(ns, off.net_cookie);
	rec.inum[NSCOPE_SLOT_MNT] = ns_inum(PTR(nsp, off.nsproxy_mnt), off.mnt_ns);
	rec.inum[NSCOPE_SLOT_UTS] = ns_inum(PTR(nsp, off.nsproxy_uts), off.uts_ns);
	rec.inum[NSCOPE_SLOT_IPC] = ns_inum(PTR(nsp, off.nsproxy_ipc), off.ipc_ns);
	rec.inum[NSCOPE_SLOT_CGROUP] = ns_inum(PTR(nsp, off.nsproxy_cgroup), off.cgroup_ns);
	rec.inum[NSCOPE_SLOT_TIME] = ns_inum(PTR(nsp, off.nsproxy_time), off.time_ns);
	rec.inum[NSCOPE_SLOT_TIME_FOR_CHILDREN] =
		ns_inum(PTR(nsp, off.nsproxy_time_for_children), off.time_ns);
	rec.inum[NSCOPE_SLOT_PID_FOR_CHILDREN] =
		ns_inum(PTR(nsp, off.nsproxy_pid_for_children), off.pid_ns);
	rec.inum[NSCOPE_SLOT_USER] =
		ns_inum(PTR(PTR(task, off.task_real_cred), off.cred_user_ns), off.user_ns);
	/* The active pid namespace: the one at the task pid's own level. */
	tpid = PTR(task, off.task_thread_pid);
	if (tpid) {
		level = read_u32(tpid, off.pid_level);
		if (level < 64)
			rec.inum[NSCOPE_SLOT_PID] =
				ns_inum(PTR(tpid, off.pid_numbers + level * off.upid_size + off.upid_ns),
					off.pid_ns);
	}
	bpf_probe_read_kernel_str(rec.comm, sizeof(rec.comm), (const char *)task + off.task_comm);
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

SEC("iter/task_file")
int dump_files(struct iter_task_file_ctx *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct seq_file *seq = ctx->meta->seq;
	struct nscope_file_rec rec = {};
	void *inode, *sock, *net, *own;

	barrier_var(seq); /* one load through a BTF pointer, as in dump_tasks */
	if (!task || !file)
		return 0;
	rec.tgid = read_u32(task, off.task_tgid);
	rec.fd = ctx->fd;
	inode = PTR(file, off.file_inode);
	if (read_ptr(PTR(inode, off.inode_sb), off.sb_magic) == NSFS_MAGIC) {
		void *ns = PTR(inode, off.inode_private); /* the struct ns_common */

		rec.kind = NSCOPE_REC_NSFD;
		rec.inum = read_ptr(inode, off.inode_ino);
		if (off.ns_type != NSCOPE_NO_FIELD)
			rec.ns_type = read_u32(ns, off.ns_type);
		else if (off.ns_ops_type != NSCOPE_NO_FIELD) /* before 6.18: ns->ops->type */
			rec.ns_type = read_u32(PTR(ns, off.ns_ops), off.ns_ops_type);
		bpf_probe_read_kernel_str(rec.comm, sizeof(rec.comm), (const char *)task + off.task_comm);
		bpf_seq_write(seq, &rec, sizeof(rec));
		return 0;
	}
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	net = PTR(PTR(sock, off.socket_sk), off.sock_net);
	if (!net)
		return 0;
	rec.inum = ns_inum(net, off.net_ns);
	own = PTR(PTR(task, off.task_nsproxy), off.nsproxy_net);
	if (rec.inum == ns_inum(own, off.net_ns))
		return 0; /* a socket in its own task's netns keeps nothing else alive */
	rec.kind = NSCOPE_REC_SOCK;
	rec.cookie = read_ptr(net, off.net_cookie);
	bpf_probe_read_kernel_str(rec.comm, sizeof(rec.comm), (const char *)task + off.task_comm);
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}

