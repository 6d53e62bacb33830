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
	NSCOPE_REC_NSID = 6, /* struct nscope_nsid_rec: one per nsid the walk's first netns gave */
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
	__u32 flags;          /* NSCOPE_DEV_* */
	__u64 peer_net_cookie;
	char name[NSCOPE_IFNAME_LEN];
	/* The struct net_device's address: what stays when a device moves to another namespace
	 * (its ifindex may not). Only compared, never shown. */
	__u64 key;
	__u64 peer_key; /* veth: the other end's */
};
#define NSCOPE_DEV_VETH 1u  /* a veth (its peer may not be set yet: it is being made) */
#define NSCOPE_DEV_ALIAS 2u /* the device has an alias (ifalias) */

/* An nsid of the namespace the walk started from (the caller's): the id it gives the network
 * namespace `inum`, from its netns_ids table. Read in the kernel because asking netlink
 * (RTM_GETNSID) costs a scan of that whole table per namespace: 10,000 namespaces took
 * 10^8 steps. */
struct nscope_nsid_rec {
	__u32 kind;
	__s32 nsid;
	__u32 inum;
	__u32 pad;
};

/* Where nsiter.bpf.c reads inside kernel structures: byte offsets that user space finds in
 * the running kernel's BTF (src/bpfload/nsiter.cpp) and writes into the programs' read-only
 * data before load. They stand in for CO-RE relocations, which the kernel would resolve by
 * searching its whole BTF once per relocated type at every load. */
#define NSCOPE_NO_FIELD 0xffffffffu /* an optional field this kernel does not have */

struct nscope_kernel_offsets {
	/* struct task_struct */
	__u32 task_tgid, task_pid, task_flags, task_comm;
	__u32 task_nsproxy, task_real_cred, task_thread_pid;
	/* struct nsproxy: the namespace pointers */
	__u32 nsproxy_net, nsproxy_mnt, nsproxy_uts, nsproxy_ipc, nsproxy_cgroup;
	__u32 nsproxy_time, nsproxy_time_for_children, nsproxy_pid_for_children;
	/* where each namespace struct holds its struct ns_common `ns` */
	__u32 net_ns, mnt_ns, uts_ns, ipc_ns, cgroup_ns, time_ns, pid_ns, user_ns;
	/* struct ns_common; ns_type and ns_id may be NSCOPE_NO_FIELD */
	__u32 ns_inum, ns_type, ns_id, ns_ops;
	/* struct proc_ns_operations: `type` (CLONE_NEW*) before 6.18, else NSCOPE_NO_FIELD */
	__u32 ns_ops_type;
	/* struct cred, struct pid, struct upid */
	__u32 cred_user_ns, pid_level, pid_numbers, upid_size, upid_ns;
	/* struct file, struct inode, struct super_block, struct socket, struct sock */
	__u32 file_inode, inode_sb, inode_ino, inode_private, sb_magic, socket_sk, sock_net;
	/* struct net */
	__u32 net_cookie, net_user_ns, net_list, net_dev_base_head;
	/* struct net_device: where netdev_priv() points (veth: struct veth_priv) */
	__u32 dev_ifindex, dev_name, dev_link_ops, dev_net, dev_list, dev_priv, dev_ifalias;
	/* struct rtnl_link_ops, struct list_head, struct bpf_iter_meta */
	__u32 link_ops_kind, list_next, meta_seq_num;
	/* net.netns_ids.idr_rt.xa_head (the nsid table's xarray), struct xa_node's shift and
	 * slots; NSCOPE_NO_FIELD where the kernel lays them out otherwise: no nsid walk */
	__u32 net_nsids_head, xa_node_shift, xa_node_slots;
};

/* ---- collect: packet events (bpf/collect.bpf.c) ---- */

#define NSCOPE_MAX_PROBES 32     /* probe slots in collect.bpf.c */
#define NSCOPE_PKT_CAPTURE 128   /* bytes of packet kept per event, from the link header */

/* Collectors, as a bitmask in the BPF program's configuration. */
#define NSCOPE_COLLECT_SKB (1u << 0)
#define NSCOPE_COLLECT_NS (1u << 1)
#define NSCOPE_COLLECT_DEV (1u << 2)
#define NSCOPE_COLLECT_TRACK (1u << 3) /* skb-tracking */
#define NSCOPE_COLLECT_DROP (1u << 4)  /* skb-drop */
#define NSCOPE_COLLECT_CT (1u << 5)    /* ct */
#define NSCOPE_COLLECT_STACK (1u << 6) /* --stack: the kernel stack of each event */
#define NSCOPE_COLLECT_OVS (1u << 7)   /* ovs: the openvswitch module's tracepoints */
#define NSCOPE_COLLECT_NFT (1u << 8)   /* nft by a kprobe on __nft_trace_packet */

/* How a probe's arguments are laid out: which raw tracepoint argument holds what. */
#define NSCOPE_ARG_NONE 0xff
struct nscope_probe_cfg {
	__u8 skb_arg;    /* struct sk_buff * */
	__u8 dev_arg;    /* struct net_device * */
	__u8 net_arg;    /* struct net * */
	__u8 reason_arg; /* enum skb_drop_reason (skb:kfree_skb) */
	__u8 flags;      /* NSCOPE_PROBE_* */
	__u8 ovs_point;  /* enum nscope_ovs_point: which openvswitch tracepoint, else 0 */
	__u8 upcall_arg; /* ovs_dp_upcall: const struct dp_upcall_info * */
	__u8 key_arg;    /* ovs_do_execute_action: struct sw_flow_key * */
	__u8 attr_arg;   /* ovs_do_execute_action: const struct nlattr * (the action) */
	__u8 nft_point;  /* a kprobe on __nft_trace_packet: NSCOPE_NFT_POINT_*, else 0 */
	__u8 pad[2];
};

/* Which layout of __nft_trace_packet a kprobe reads (the nft collector). */
#define NSCOPE_NFT_POINT_61 1 /* Linux 6.1's (info, chain, type) */
#define NSCOPE_NFT_POINT_64 2 /* Linux 6.4's on (pkt, verdict, rule, info, type) */

/* The openvswitch module's tracepoints (the ovs collector). */
enum nscope_ovs_point {
	NSCOPE_OVS_NONE = 0,
	NSCOPE_OVS_UPCALL = 1,	/* openvswitch:ovs_dp_upcall */
	NSCOPE_OVS_EXECUTE = 2, /* openvswitch:ovs_do_execute_action */
};
#define NSCOPE_PROBE_FREES (1u << 0)        /* the skb is freed here: tracking ends */
#define NSCOPE_PROBE_ONLY_TRACKED (1u << 1) /* emit only packets already followed */

/* ---- filters (src/filter/): decided in the kernel before an event is made ---- */

#define NSCOPE_MAX_NETNS_FILTER 16 /* --netns entries */
#define NSCOPE_NETNS_INCLUDE 1     /* only events in the listed namespaces */
#define NSCOPE_NETNS_EXCLUDE 2     /* all but those */
/* Bytes of a packet a pcap filter (-f) can look at, from its link or network header. */
#define NSCOPE_FILTER_BYTES 256

/* Filter stubs in bpf/filter_stubs.h carry these constants in their bodies; user space finds
 * each stub by its constant and replaces the body with the compiled filter before load. */
#define NSCOPE_STUB_PACKET 0x6e73636f70650001 /* -f: (buf, caplen, wirelen, is_l2) */
#define NSCOPE_STUB_META 0x6e73636f70650002 /* -m: (skb) */

/* Per-CPU scratch where a packet's first bytes are read once for -f and then copied into
 * the event. */
struct nscope_pkt_buf {
	__u8 data[NSCOPE_FILTER_BYTES] __attribute__((aligned(8))); /* copied a word at a time */
};

/* tests/system/filter_test.cpp runs compiled -f filters on these in bpf/filter_test.bpf.c */
struct nscope_filter_test_input {
	__u32 caplen;
	__u32 wirelen;
	__u32 is_l2;
	__u32 pad;
	__u8 data[NSCOPE_FILTER_BYTES];
};

/* skb-tracking map values: the packet's id is (ts, orig_head). */
struct nscope_track {
	__u64 orig_head; /* skb->head when first seen */
	__u64 ts;        /* when first seen */
	__u64 last_seen; /* for age-out by user space */
};

/* Where the event's netns came from (nscope_event.ns_src). */
enum nscope_ns_src {
	NSCOPE_NS_NONE = 0,
	NSCOPE_NS_SKB_DEV = 1, /* skb->dev */
	NSCOPE_NS_SKB_SK = 2,  /* skb->sk */
	NSCOPE_NS_ARG_DEV = 3, /* the probe's net_device argument */
	NSCOPE_NS_ARG_NET = 4, /* the probe's net argument */
};

/* nscope_event.flags */
#define NSCOPE_EV_HAS_SKB (1u << 0)
#define NSCOPE_EV_HAS_MAC (1u << 1) /* data[] starts at the link-layer header */
#define NSCOPE_EV_HAS_NET (1u << 2) /* data[] starts at the network header */
#define NSCOPE_EV_HAS_TRACK (1u << 3)
#define NSCOPE_EV_HAS_DROP (1u << 4)
#define NSCOPE_EV_HAS_CT (1u << 5) /* a struct nscope_ct_ext follows the event */
#define NSCOPE_EV_HAS_STACK (1u << 6) /* a struct nscope_stack_ext follows (after any ct) */
#define NSCOPE_EV_HAS_OVS (1u << 7) /* the struct nscope_ovs_ext (after any ct) is filled */

struct nscope_event {
	__u64 ts;      /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 skb;     /* the sk_buff's address */
	__u64 netns_cookie;
	__u32 probe;   /* probe slot */
	__u32 cpu;
	__u32 pid;     /* thread id */
	__u32 tgid;
	__u32 netns_inum;
	__u32 ifindex;
	__u32 rx_ifindex; /* skb->skb_iif: the device it came in on */
	__u32 len;        /* skb->len */
	__u32 data_len;   /* skb->data_len (paged part) */
	__u32 mark;
	__u16 protocol;   /* skb->protocol, network byte order */
	__u16 caplen;     /* bytes valid in data[] */
	__u8 flags;       /* NSCOPE_EV_* */
	__u8 ns_src;      /* enum nscope_ns_src */
	__u8 l2len;       /* with NSCOPE_EV_HAS_MAC: the link header's length in data[] */
	__u8 pad;
	char comm[NSCOPE_COMM_LEN];
	char ifname[NSCOPE_IFNAME_LEN];
	__u64 track_ts;   /* skb-tracking id: first-seen time ... */
	__u64 orig_head;  /* ... and head then */
	__u32 drop_reason;
	__u32 wirelen;   /* the packet's length from data[0] on, linear and paged */
	__u64 func_ip;    /* kprobe, kretprobe: the probed function's address, else 0 */
	__u8 data[NSCOPE_PKT_CAPTURE] __attribute__((aligned(8)));
};

struct nscope_ct_tuple {
	__u8 src[16], dst[16]; /* IPv4 in the first 4 bytes */
	__u16 sport, dport;    /* network order; ICMP: type/code, id */
	__u8 proto;
	__u8 family;           /* AF_INET, AF_INET6 */
	__u8 pad[2];
};

/* A record is a struct nscope_event, then a struct nscope_ct_ext with the ct collector, then
 * a struct nscope_ovs_ext with the ovs collector, then a struct nscope_nft_ext with the nft
 * kprobe, then a struct nscope_stack_ext with --stack. */
struct nscope_ct_ext {
	__u32 status; /* the connection's IPS_* bits */
	__u32 mark;
	__u16 zone;
	__u8 ctinfo;  /* enum nscope_ct_info */
	__u8 pad;
	struct nscope_ct_tuple orig, reply;
};

/* nscope_ct_ext.ctinfo: the kernel's enum ip_conntrack_info, which it keeps in the low bits
 * of skb->_nfct (the rest is the struct nf_conn pointer). The values are the kernel's ABI;
 * they are named here once for collect.bpf.c and src/collect/decode.cpp. */
enum nscope_ct_info {
	NSCOPE_CT_ESTABLISHED = 0,	/* IP_CT_ESTABLISHED */
	NSCOPE_CT_RELATED = 1,		/* IP_CT_RELATED */
	NSCOPE_CT_NEW = 2,		/* IP_CT_NEW */
	NSCOPE_CT_ESTABLISHED_REPLY = 3, /* IP_CT_ESTABLISHED_REPLY (Retis: "reply") */
	NSCOPE_CT_RELATED_REPLY = 4,	/* IP_CT_RELATED_REPLY */
	NSCOPE_CT_UNTRACKED = 7,	/* IP_CT_UNTRACKED: no nf_conn, but conntrack saw it */
};
#define NSCOPE_NFCT_INFO_MASK 7UL /* skb->_nfct: ctinfo in these bits, nf_conn * above */

/* What an openvswitch tracepoint saw (Retis's ovs `upcall` and `action_execute`). */
struct nscope_ovs_ext {
	__u8 point;	  /* enum nscope_ovs_point */
	__u8 cmd;	  /* upcall: OVS_PACKET_CMD_* */
	__u16 action;	  /* execute: the action attribute's type (enum ovs_action_attr) */
	__u32 port;	  /* upcall: the netlink port id the packet is queued to */
	__u32 recirc_id;  /* execute: the flow key's recirculation id */
	__u32 action_arg; /* execute: the action's first 32-bit word (output port, recirc id...) */
	__u32 queue_id;	  /* with NSCOPE_OVS_HAS_QUEUE: a hash of the packet's first bytes */
	__u32 ct_flags;	  /* execute, ct action: NSCOPE_OVS_CT_* */
	__u16 ct_zone;	  /* execute, ct action: the conntrack zone */
	__u8 flags;	  /* NSCOPE_OVS_HAS_* */
	__u8 pad;
};
#define NSCOPE_OVS_HAS_QUEUE (1u << 0)
/* ct action flags, with Retis's values (retis-events ovs.rs R_OVS_CT_*). */
#define NSCOPE_OVS_CT_COMMIT (1u << 0)
#define NSCOPE_OVS_CT_FORCE (1u << 1)
#define NSCOPE_OVS_CT_IP4 (1u << 2)
#define NSCOPE_OVS_CT_IP6 (1u << 3)
#define NSCOPE_OVS_CT_NAT (1u << 4)
/* The packet bytes the queue id hashes: enough for the headers that tell two packets apart. */
#define NSCOPE_OVS_HASH_BYTES 128

/* What __nft_trace_packet was called with (Retis's nft section): a rule, a chain's return or
 * a base chain's policy met by a packet. */
#define NSCOPE_NFT_NAME 128 /* bytes kept of a table's or chain's name (Retis keeps as many) */
struct nscope_nft_ext {
	char table[NSCOPE_NFT_NAME];
	char chain[NSCOPE_NFT_NAME];
	char verdict_chain[NSCOPE_NFT_NAME]; /* jump, goto: the target chain; else empty */
	__s64 table_handle, chain_handle;
	__s64 rule_handle;  /* -1: none (a policy, a chain's end) */
	__s32 verdict;      /* NF_ACCEPT, NF_DROP, NFT_JUMP...; the policy's for a policy */
	__u8 family;        /* the table's NFPROTO_* */
	__u8 policy;        /* the base chain's policy decided */
	__u8 has;           /* the section is filled */
	__u8 pad;
};

#define NSCOPE_STACK_DEPTH 32 /* kernel frames kept per event with --stack */
struct nscope_stack_ext {
	__u32 nr; /* frames in ips[], innermost first */
	__u32 pad;
	__u64 ips[NSCOPE_STACK_DEPTH];
};

/* Probe slot programs come in three kinds, one set of NSCOPE_MAX_PROBES each:
 * nscope.tp_btf (tp_btf, and fentry/fexit by their attach type), nscope.kprobe (kprobe) and
 * nscope.kretprobe (kretprobe: the arguments were saved at the function's entry). */
#define NSCOPE_KRET_ARGS 6 /* arguments saved at entry for a kretprobe, in registers */


/* `nscope watch` (bpf/watch.bpf.c): what the kernel tells about namespaces as it happens.
 * Each record says what a task did; user space turns it into events and, for what a record
 * cannot say (names, holders, devices, deaths), walks the kernel again. */
enum nscope_watch_kind {
	NSCOPE_WATCH_CLONE = 1,   /* clone/fork with CLONE_NEW* flags: `after` is the child's */
	NSCOPE_WATCH_UNSHARE = 2, /* unshare() returned 0 */
	NSCOPE_WATCH_SETNS = 3,   /* setns() returned 0 */
	NSCOPE_WATCH_EXIT = 4,    /* the last thread of a process outside the initial net or
				   * mount namespace exited: `before` is what it was in */
	NSCOPE_WATCH_MOUNT = 5,   /* mount, umount or move_mount returned 0 */
	NSCOPE_WATCH_NETDEV = 6,  /* a network device changed (rtnetlink's netdevice notifier ran) */
	NSCOPE_WATCH_NET_CLEANUP = 7, /* the kernel finished dismantling dead network namespaces */
};

struct nscope_watch_rec {
	__u64 ts;   /* bpf_ktime_get_ns() */
	__u32 kind; /* enum nscope_watch_kind */
	__u32 pid;  /* tgid of the task that did it */
	__u32 tid;
	__u32 child; /* CLONE: the new task's tid */
	__u64 flags; /* CLONE/UNSHARE: the clone flags; SETNS: the nstype argument */
	__u32 before[NSCOPE_SLOT_COUNT]; /* namespace inodes before (the parent's for CLONE) */
	__u32 after[NSCOPE_SLOT_COUNT];  /* and after */
	__u64 net_cookie_before;
	__u64 net_cookie_after;
	char comm[NSCOPE_COMM_LEN];
};

/* Addresses user space finds in /proc/kallsyms and writes into watch.bpf.c's read-only data
 * before load; 0 turns that hook off. */
struct nscope_watch_cfg {
	__u64 rtnetlink_event; /* the netdevice notifier that sends RTM_NEWLINK/RTM_DELLINK */
	__u64 cleanup_net;     /* the work function that dismantles dead network namespaces */
	__u32 init_net_inum;   /* exits outside these two are reported */
	__u32 init_mnt_inum;
	__u32 all_exits;       /* report every process exit outside the initial namespaces of
				* any type (watch -t with more than net) */
	__u32 pad;
	__u32 init_inum[NSCOPE_SLOT_COUNT];
};

#endif /* NSCOPE_SHARED_H */
