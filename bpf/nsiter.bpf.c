// SPDX-License-Identifier: GPL-2.0
/* One-pass kernel walks for `nscope list`:
 *   dump_tasks  (iter/task)      every thread and the namespaces it holds;
 *   dump_files  (iter/task_file) open nsfs files, and sockets living in another netns
 *                                than the task that holds them;
 *   walk_nets   (iter/task)      on its first call, every live network namespace and its
 *                                devices, by following struct net's list (a circular list
 *                                through net_namespace_list), into the ring buffer `nets`.
 * Records are defined in nscope.h, shared with user space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "nscope.h"

char LICENSE[] SEC("license") = "GPL";

#define NSFS_MAGIC 0x6e736673
#define CLONE_NEWNET 0x40000000
#define NETDEV_ALIGN 32

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* resized by user space before load */
} nets SEC(".maps");

/* Read by user space after a walk: records the ring buffer could not take, and whether the
 * walk stopped at its bound before closing the circle. */
__u64 walk_dropped = 0;
__u32 walk_truncated = 0;

SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct nscope_task_rec rec = {};
	struct nsproxy *nsp;
	struct pid *tpid;
	struct upid up = {};
	unsigned int level;

	if (!task)
		return 0;
	/* Every access goes through BPF_CORE_READ (a probe read) rather than a direct pointer
	 * walk: the verifier then has no BTF type chains to check, which keeps load time low. */
	nsp = BPF_CORE_READ(task, nsproxy);
	if (!nsp) /* exiting or zombie: it holds nothing any more */
		return 0;

	rec.kind = NSCOPE_REC_TASK;
	rec.tgid = BPF_CORE_READ(task, tgid);
	rec.tid = BPF_CORE_READ(task, pid);
	if (BPF_CORE_READ(task, flags) & 0x00200000 /* PF_KTHREAD */)
		rec.flags |= NSCOPE_TASK_KTHREAD;
	rec.inum[NSCOPE_SLOT_NET] = BPF_CORE_READ(nsp, net_ns, ns.inum);
	rec.net_cookie = BPF_CORE_READ(nsp, net_ns, net_cookie);
	rec.inum[NSCOPE_SLOT_MNT] = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	rec.inum[NSCOPE_SLOT_UTS] = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	rec.inum[NSCOPE_SLOT_IPC] = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	rec.inum[NSCOPE_SLOT_CGROUP] = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
	rec.inum[NSCOPE_SLOT_TIME] = BPF_CORE_READ(nsp, time_ns, ns.inum);
	rec.inum[NSCOPE_SLOT_TIME_FOR_CHILDREN] = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
	rec.inum[NSCOPE_SLOT_PID_FOR_CHILDREN] = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
	rec.inum[NSCOPE_SLOT_USER] = BPF_CORE_READ(task, real_cred, user_ns, ns.inum);
	/* The active pid namespace: the one at the task pid's own level. */
	tpid = BPF_CORE_READ(task, thread_pid);
	if (tpid) {
		level = BPF_CORE_READ(tpid, level);
		if (level < 64 && !bpf_probe_read_kernel(&up, sizeof(up), &tpid->numbers[level]))
			rec.inum[NSCOPE_SLOT_PID] = BPF_CORE_READ(up.ns, ns.inum);
	}
	BPF_CORE_READ_STR_INTO(&rec.comm, task, comm);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

SEC("iter/task_file")
int dump_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct nscope_file_rec rec = {};
	struct inode *inode;
	struct socket *sock;
	struct net *net;

	if (!task || !file)
		return 0;
	rec.tgid = BPF_CORE_READ(task, tgid);
	rec.fd = ctx->fd;
	inode = BPF_CORE_READ(file, f_inode);
	if (BPF_CORE_READ(inode, i_sb, s_magic) == NSFS_MAGIC) {
		struct ns_common *ns = BPF_CORE_READ(inode, i_private);

		rec.kind = NSCOPE_REC_NSFD;
		rec.inum = BPF_CORE_READ(inode, i_ino);
		if (ns && bpf_core_field_exists(ns->ns_type))
			rec.ns_type = BPF_CORE_READ(ns, ns_type);
		BPF_CORE_READ_STR_INTO(&rec.comm, task, comm);
		bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
		return 0;
	}
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	net = BPF_CORE_READ(sock, sk, __sk_common.skc_net.net);
	if (!net)
		return 0;
	rec.inum = BPF_CORE_READ(net, ns.inum);
	if (rec.inum == BPF_CORE_READ(task, nsproxy, net_ns, ns.inum))
		return 0; /* a socket in its own task's netns keeps nothing else alive */
	rec.kind = NSCOPE_REC_SOCK;
	rec.cookie = BPF_CORE_READ(net, net_cookie);
	BPF_CORE_READ_STR_INTO(&rec.comm, task, comm);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

struct walk_state {
	__u64 start;    /* the struct net the walk began at */
	__u64 net;      /* the struct net being walked */
	__u64 dev_node; /* list_head of the next device, 0 before the first */
	__u64 dev_head; /* &net->dev_base_head */
	__u64 priv_off; /* netdev_priv() offset: sizeof(struct net_device) aligned */
	__u32 done;
};

static __always_inline void emit_net(struct net *net)
{
	struct nscope_net_rec rec = {};

	rec.kind = NSCOPE_REC_NET;
	rec.inum = BPF_CORE_READ(net, ns.inum);
	rec.cookie = BPF_CORE_READ(net, net_cookie);
	rec.owner_inum = BPF_CORE_READ(net, user_ns, ns.inum);
	if (bpf_core_field_exists(net->ns.ns_id))
		rec.ns_id = BPF_CORE_READ(net, ns.ns_id);
	if (bpf_ringbuf_output(&nets, &rec, sizeof(rec), 0))
		__sync_fetch_and_add(&walk_dropped, 1);
}

static __always_inline void emit_dev(struct walk_state *w, struct net_device *dev)
{
	struct nscope_dev_rec rec = {};
	const char *kind = NULL;
	struct net_device *peer = NULL;

	struct net *net = (struct net *)w->net; /* not inside BPF_CORE_READ: w is no kernel type */

	rec.kind = NSCOPE_REC_DEV;
	rec.net_inum = BPF_CORE_READ(net, ns.inum);
	rec.ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&rec.name, dev, name);
	kind = BPF_CORE_READ(dev, rtnl_link_ops, kind);
	if (kind)
		bpf_probe_read_kernel_str(rec.link_kind, sizeof(rec.link_kind), kind);
	/* veth: struct veth_priv starts with `struct net_device __rcu *peer`. */
	if (rec.link_kind[0] == 'v' && rec.link_kind[1] == 'e' && rec.link_kind[2] == 't' &&
	    rec.link_kind[3] == 'h' && rec.link_kind[4] == 0) {
		bpf_probe_read_kernel(&peer, sizeof(peer), (void *)dev + w->priv_off);
		if (peer) {
			rec.peer_ifindex = BPF_CORE_READ(peer, ifindex);
			rec.peer_net_inum = BPF_CORE_READ(peer, nd_net.net, ns.inum);
			rec.peer_net_cookie = BPF_CORE_READ(peer, nd_net.net, net_cookie);
		}
	}
	if (bpf_ringbuf_output(&nets, &rec, sizeof(rec), 0))
		__sync_fetch_and_add(&walk_dropped, 1);
}

static long walk_step(__u32 i, struct walk_state *w)
{
	struct net *net = (struct net *)w->net;
	struct list_head *node;
	__u64 list_off = bpf_core_field_offset(struct net, list);
	__u64 dev_off = bpf_core_field_offset(struct net_device, dev_list);
	int hops;

	if (!w->dev_node) { /* entering a namespace */
		emit_net(net);
		w->dev_head = w->net + bpf_core_field_offset(struct net, dev_base_head);
		w->dev_node = (__u64)BPF_CORE_READ(net, dev_base_head.next);
		return 0;
	}
	if (w->dev_node != w->dev_head) {
		emit_dev(w, (struct net_device *)(w->dev_node - dev_off));
		node = (struct list_head *)w->dev_node;
		w->dev_node = (__u64)BPF_CORE_READ(node, next);
		return 0;
	}
	/* Next namespace. The circle passes once through net_namespace_list itself, which is
	 * no struct net: skip any entry whose ns_type is not CLONE_NEWNET. */
	node = (struct list_head *)(w->net + list_off);
	for (hops = 0; hops < 2; hops++) {
		node = BPF_CORE_READ(node, next);
		net = (struct net *)((__u64)node - list_off);
		if ((__u64)net == w->start) {
			w->done = 1;
			return 1;
		}
		if (!bpf_core_field_exists(net->ns.ns_type) ||
		    BPF_CORE_READ(net, ns.ns_type) == CLONE_NEWNET)
			break;
	}
	w->net = (__u64)net;
	w->dev_node = 0;
	return 0;
}

SEC("iter/task")
int walk_nets(struct bpf_iter__task *ctx)
{
	struct walk_state w = {};
	struct task_struct *me;

	if (ctx->meta->seq_num != 0 || !ctx->task)
		return 0;
	me = bpf_get_current_task_btf();
	w.start = (__u64)BPF_CORE_READ(me, nsproxy, net_ns);
	w.net = w.start;
	w.priv_off = (bpf_core_type_size(struct net_device) + NETDEV_ALIGN - 1) & ~(__u64)(NETDEV_ALIGN - 1);
	bpf_loop(1 << 20, walk_step, &w, 0);
	if (!w.done)
		walk_truncated = 1;
	return 0;
}
