// SPDX-License-Identifier: GPL-2.0
/* `nscope watch`: what tasks do to namespaces, as it happens, on tracepoints only.
 *
 *   task_newtask (tp_btf)            a clone with CLONE_NEW* flags: namespaces created
 *   sys_enter/exit_unshare, _setns   a task made or entered namespaces (what it was in
 *                                    before is kept at entry, by thread id)
 *   sched_process_exit (tp_btf)      a process outside the initial namespaces ended
 *   sys_exit_mount, _umount,         a mount changed: nsfs bind mounts name namespaces
 *   _move_mount
 *   notifier_run (tp_btf)            rtnetlink's netdevice notifier ran: a device was made,
 *                                    deleted, renamed, moved or changed (before 6.2: a
 *                                    kprobe on rtnetlink_event, where kprobes work)
 *   workqueue_execute_end (raw_tp)   cleanup_net finished: network namespaces died
 *
 * Records (struct nscope_watch_rec, nscope.h) go into one ring buffer; what it could not take
 * is counted in `lost`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "nscope.h"

char LICENSE[] SEC("license") = "GPL";

#define CLONE_NEWTIME 0x00000080
#define CLONE_NEWNS 0x00020000
#define CLONE_NEWCGROUP 0x02000000
#define CLONE_NEWUTS 0x04000000
#define CLONE_NEWIPC 0x08000000
#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWPID 0x20000000
#define CLONE_NEWNET 0x40000000
#define CLONE_NEW_ANY (CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
		       CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

const volatile struct nscope_watch_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

/* unshare/setns in flight: what the thread was in at entry, by thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct nscope_watch_rec);
} pending SEC(".maps");

__u64 lost = 0;

static __always_inline __u32 pid_ns_inum(struct task_struct *t)
{
	struct pid *p = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(p, level);
	struct upid up = {};

	if (!p)
		return 0;
	bpf_probe_read_kernel(&up, sizeof(up), &p->numbers[level & 31]);
	return BPF_CORE_READ(up.ns, ns.inum);
}

/* The inodes of every namespace `t` is in, and its netns cookie. */
static __always_inline void read_nses(struct task_struct *t, __u32 *inum, __u64 *cookie)
{
	struct nsproxy *nsp = BPF_CORE_READ(t, nsproxy);
	struct net *net;

	if (!nsp)
		return;
	net = BPF_CORE_READ(nsp, net_ns);
	inum[NSCOPE_SLOT_NET] = BPF_CORE_READ(net, ns.inum);
	*cookie = BPF_CORE_READ(net, net_cookie);
	inum[NSCOPE_SLOT_MNT] = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	inum[NSCOPE_SLOT_UTS] = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	inum[NSCOPE_SLOT_IPC] = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	inum[NSCOPE_SLOT_CGROUP] = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
	inum[NSCOPE_SLOT_TIME] = BPF_CORE_READ(nsp, time_ns, ns.inum);
	inum[NSCOPE_SLOT_TIME_FOR_CHILDREN] = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
	inum[NSCOPE_SLOT_PID_FOR_CHILDREN] = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
	inum[NSCOPE_SLOT_USER] = BPF_CORE_READ(t, real_cred, user_ns, ns.inum);
	inum[NSCOPE_SLOT_PID] = pid_ns_inum(t);
}

static __always_inline void who(struct nscope_watch_rec *r)
{
	__u64 id = bpf_get_current_pid_tgid();

	r->ts = bpf_ktime_get_ns();
	r->pid = id >> 32;
	r->tid = (__u32)id;
	bpf_get_current_comm(r->comm, sizeof(r->comm));
}

static __always_inline void submit(struct nscope_watch_rec *r)
{
	if (bpf_ringbuf_output(&events, r, sizeof(*r), 0))
		__sync_fetch_and_add(&lost, 1);
}

/* A record that only says "look again": which task, and what it is in now. */
static __always_inline void kick(__u32 kind)
{
	struct nscope_watch_rec r = {};

	who(&r);
	r.kind = kind;
	read_nses(bpf_get_current_task_btf(), r.after, &r.net_cookie_after);
	submit(&r);
}

SEC("tp_btf/task_newtask")
int BPF_PROG(watch_newtask, struct task_struct *task, u64 clone_flags)
{
	struct nscope_watch_rec r = {};

	if (!(clone_flags & CLONE_NEW_ANY))
		return 0;
	who(&r);
	r.kind = NSCOPE_WATCH_CLONE;
	r.flags = clone_flags;
	r.child = BPF_CORE_READ(task, pid);
	read_nses(bpf_get_current_task_btf(), r.before, &r.net_cookie_before);
	read_nses(task, r.after, &r.net_cookie_after);
	submit(&r);
	return 0;
}

static __always_inline int enter(__u32 kind, __u64 flags)
{
	struct nscope_watch_rec r = {};

	who(&r);
	r.kind = kind;
	r.flags = flags;
	read_nses(bpf_get_current_task_btf(), r.before, &r.net_cookie_before);
	bpf_map_update_elem(&pending, &r.tid, &r, BPF_ANY);
	return 0;
}

static __always_inline int leave(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct nscope_watch_rec *r = bpf_map_lookup_elem(&pending, &tid);

	if (!r)
		return 0;
	if (ret == 0) {
		r->ts = bpf_ktime_get_ns();
		read_nses(bpf_get_current_task_btf(), r->after, &r->net_cookie_after);
		submit(r);
	}
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unshare")
int watch_enter_unshare(struct trace_event_raw_sys_enter *ctx)
{
	__u64 flags = ctx->args[0];

	return (flags & CLONE_NEW_ANY) ? enter(NSCOPE_WATCH_UNSHARE, flags) : 0;
}

SEC("tracepoint/syscalls/sys_exit_unshare")
int watch_exit_unshare(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_setns")
int watch_enter_setns(struct trace_event_raw_sys_enter *ctx)
{
	return enter(NSCOPE_WATCH_SETNS, ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_setns")
int watch_exit_setns(struct trace_event_raw_sys_exit *ctx)
{
	return leave(ctx->ret);
}

static __always_inline int mount_changed(long ret)
{
	if (ret == 0)
		kick(NSCOPE_WATCH_MOUNT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mount")
int watch_exit_mount(struct trace_event_raw_sys_exit *ctx)
{
	return mount_changed(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_umount")
int watch_exit_umount(struct trace_event_raw_sys_exit *ctx)
{
	return mount_changed(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_move_mount")
int watch_exit_move_mount(struct trace_event_raw_sys_exit *ctx)
{
	return mount_changed(ctx->ret);
}

/* A process ends: its last thread is here after signal->live went to 0 and before it drops
 * its namespaces. Reported only outside the initial net and mount namespaces (or, with
 * all_exits, outside the initial namespace of any type): the host's own churn is noise. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(watch_exit, struct task_struct *p)
{
	struct nscope_watch_rec r = {};
	int i, outside = 0;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	read_nses(p, r.before, &r.net_cookie_before);
	if (!r.before[NSCOPE_SLOT_NET]) /* no nsproxy any more */
		return 0;
	if (cfg.all_exits) {
		for (i = 0; i < NSCOPE_SLOT_COUNT; i++)
			if (r.before[i] && r.before[i] != cfg.init_inum[i])
				outside = 1;
	} else {
		outside = r.before[NSCOPE_SLOT_NET] != cfg.init_net_inum ||
			  r.before[NSCOPE_SLOT_MNT] != cfg.init_mnt_inum;
	}
	if (!outside)
		return 0;
	who(&r);
	r.kind = NSCOPE_WATCH_EXIT;
	r.pid = BPF_CORE_READ(p, tgid);
	r.tid = BPF_CORE_READ(p, pid);
	BPF_CORE_READ_STR_INTO(&r.comm, p, comm);
	submit(&r);
	return 0;
}

SEC("tp_btf/notifier_run")
int BPF_PROG(watch_notifier, void *cb)
{
	if (cfg.rtnetlink_event && (__u64)cb == cfg.rtnetlink_event)
		kick(NSCOPE_WATCH_NETDEV);
	return 0;
}

/* Before Linux 6.2 there is no notifier_run tracepoint: where kprobes work, the notifier
 * itself (user space loads one of the two). */
SEC("kprobe/rtnetlink_event")
int watch_rtnetlink_event(void *ctx)
{
	kick(NSCOPE_WATCH_NETDEV);
	return 0;
}

/* raw_tp, not tp_btf: the verifier refuses a tp_btf read of a function-pointer argument. */
SEC("raw_tp/workqueue_execute_end")
int watch_work_done(struct bpf_raw_tracepoint_args *ctx)
{
	if (cfg.cleanup_net && ctx->args[1] == cfg.cleanup_net)
		kick(NSCOPE_WATCH_NET_CLEANUP);
	return 0;
}
