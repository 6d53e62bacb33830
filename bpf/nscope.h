/* Records that cross the kernel/user boundary. Plain C with fixed-width types: included by
 * the BPF programs in bpf/ and by user space in src/bpfload/. One copy only. */
#ifndef NSCOPE_SHARED_H
#define NSCOPE_SHARED_H

#ifndef __bpf__
#include <linux/types.h> /* __u32, __u64 in user space; vmlinux.h has them for BPF */
#endif

#define NSCOPE_COMM_LEN 16
#define NSCOPE_IFNAME_LEN 16

/* Slots of the namespaces a task holds, in the order of struct nscope_task_rec.inum. */
enum nscope_ns_slot {
	NSCOPE_SLOT_NET = 0,
	NSCOPE_SLOT_MNT,
	NSCOPE_SLOT_PID,
	NSCOPE_SLOT_UTS,
	NSCOPE_SLOT_IPC,
	NSCOPE_SLOT_USER,
	NSCOPE_SLOT_CGROUP,
	NSCOPE_SLOT_TIME,
	NSCOPE_SLOT_PID_FOR_CHILDREN,
	NSCOPE_SLOT_TIME_FOR_CHILDREN,
	NSCOPE_SLOT_COUNT,
};

enum nscope_rec_kind {
	NSCOPE_REC_TASK = 1, /* struct nscope_task_rec: one per thread (iter/task) */
	NSCOPE_REC_NSFD = 2, /* struct nscope_file_rec: an open nsfs file (iter/task_file) */
	NSCOPE_REC_SOCK = 3, /* struct nscope_file_rec: a socket whose netns is not its task's */
	NSCOPE_REC_NET = 4,  /* struct nscope_net_rec: one per live network namespace */
	NSCOPE_REC_DEV = 5,  /* struct nscope_dev_rec: one per device of a network namespace */
};

struct nscope_task_rec {
	__u32 kind;
	__u32 tgid;
	__u32 tid;
	__u32 flags; /* NSCOPE_TASK_* */
	__u32 inum[NSCOPE_SLOT_COUNT];
	__u64 net_cookie;
	char comm[NSCOPE_COMM_LEN];
};
#define NSCOPE_TASK_KTHREAD 1u

struct nscope_file_rec {
	__u32 kind;
	__u32 tgid;
	__u32 fd;
	__u32 inum;    /* nsfs: the namespace's inode; socket: its netns inode */
	__u32 ns_type; /* nsfs: CLONE_NEW* of the namespace, 0 when unknown */
	__u32 pad;
	__u64 cookie;  /* socket: its netns cookie */
	char comm[NSCOPE_COMM_LEN];
};

struct nscope_net_rec {
	__u32 kind;
	__u32 inum;
	__u32 owner_inum; /* the owning user namespace */
	__u32 ndevs;      /* filled by user space from the dev records that follow */
	__u64 cookie;
	__u64 ns_id;      /* ns_common.ns_id where the kernel has it, else 0 */
};

struct nscope_dev_rec {
	__u32 kind;
	__u32 net_inum;
	__u32 ifindex;
	__u32 peer_ifindex;   /* veth: the other end's ifindex, else 0 */
	__u32 peer_net_inum;  /* veth: the other end's netns inode, else 0 */
	__u32 pad;
	__u64 peer_net_cookie;
	char name[NSCOPE_IFNAME_LEN];
	char link_kind[NSCOPE_IFNAME_LEN]; /* rtnl_link_ops->kind: "veth", "bridge", ... */
};

#endif /* NSCOPE_SHARED_H */
