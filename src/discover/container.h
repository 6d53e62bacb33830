// Container identity: which runtime and container a process belongs to, from its cgroup
// path and the runtimes' on-disk state. Every path is taken relative to a root so tests can
// feed fixture trees laid out as the runtimes lay them out.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace nscope {

struct Container {
  std::string runtime;        // "runc", "docker", "containerd", "cri-o", "podman", "kubernetes",
                              // "lxc", "systemd-nspawn", "openstack"
  std::string id;             // full container id (or machine/container name where that is the id)
  std::string name;           // the runtime's name for it, when recorded
  std::string pod;            // kubernetes: pod name
  std::string pod_namespace;  // kubernetes: pod namespace
  std::string pod_uid;        // kubernetes: pod uid
};

// A container id as `docker ps` shows it: its first 12 characters.
std::string short_container_id(std::string_view id);
// The container's name, or its short id when it has none.
std::string container_name_or_id(const Container& c);
// "runc:web", or "docker:0123456789ab" when it has no name: a container in one word.
std::string container_label(const Container& c);

// Pure parser: the container a /proc/PID/cgroup content points at, from the path alone.
// Tries the v2 ("0::") line first, then name=systemd, then the other v1 lines; the innermost
// container marker of a path wins (docker in lxc is the docker container). Recognises:
//   docker:     docker-<id>.scope, /docker/<id>
//   containerd: cri-containerd-<id>.scope, nerdctl-<id>.scope
//   cri-o:      crio-<id>.scope, crio-<id> (not crio-conmon-)
//   podman:     libpod-<id>.scope, /libpod_parent/libpod-<id> (not libpod-conmon-)
//   kubernetes: kubepods…pod<uid>.slice or /kubepods/…/pod<uid>/ sets pod_uid on the
//               container below it; a bare <id> below a cgroupfs pod gets runtime
//               "kubernetes" (the path does not say which runtime).
//   lxc:        /lxc/<name>, lxc.payload.<name>, lxc.payload/<name>
//   nspawn:     machine.slice/machine-<name>.scope, machine.slice/systemd-nspawn@<name>.service
// <id> must be 64 lowercase hex digits, so ordinary unit names never match. runc alone
// leaves no cgroup marker the path can prove, so runc is found from its state directory.
std::optional<Container> container_from_cgroup(std::string_view cgroup_file);

// Resolves and caches identities, reading runtime state below `root` ("/" on a live host):
//   runc:       <root>/run/runc/<id>/state.json (init_process_pid, cgroup_paths, config labels)
//   docker:     <root>/var/lib/docker/containers/<id>/config.v2.json ("Name", k8s labels)
//   podman:     <root>/var/lib/containers/storage/overlay-containers/containers.json
//   kubernetes: <root>/var/log/pods/<namespace>_<pod>_<uid>/ (pod by uid) and
//               <root>/var/log/containers/<pod>_<namespace>_<container>-<id>.log
//   containerd: <root>/run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/config.json
//   cri-o:      <root>/run/containers/storage/overlay-containers/<id>/userdata/config.json
// Built once per scan. Everything is read lazily and at most once: the runc states, the
// podman list and the log directories when first needed, a container's own files the first
// time a process of that container is seen. Never throws; unreadable or malformed state is
// skipped.
class ContainerResolver {
 public:
  explicit ContainerResolver(std::string root = "/");
  // pid: the process; cgroup_file: content of /proc/PID/cgroup (read by the caller).
  std::optional<Container> identify(int pid, std::string_view cgroup_file);
  // OpenStack's neutron names its namespaces qrouter-<uuid>, qdhcp-<uuid>, snat-, fip-
  // (and the OVN metadata agent ovnmeta-<uuid>).
  static std::optional<Container> from_netns_name(std::string_view name);

 private:
  struct RuncState {
    Container c;
    std::string bundle;         // from the "bundle=" config label
    bool cgroup_known = false;  // some cgroup path could be mapped to /proc/PID/cgroup form
    bool filled = false;        // bundle annotations consulted
  };
  struct PodInfo {
    std::string pod, pod_namespace;
  };
  struct LogInfo {
    std::string name, pod, pod_namespace;
  };

  void load_runc();
  std::optional<size_t> match_runc(int pid, std::string_view cgroup_file);
  void fill_name(Container& c);
  bool fill_from_docker(Container& c);
  bool fill_from_bundle(Container& c, const std::string& config_json);
  void fill_from_logs(Container& c);
  std::string path(std::string_view rel) const;

  std::string root_;
  bool runc_loaded_ = false;
  std::vector<RuncState> runc_;
  std::map<int, size_t> runc_by_pid_;
  std::map<std::string, size_t> runc_by_cgroup_;  // "<controller>:<path>" -> runc_ index
  std::set<std::string> runc_controllers_;        // controllers used in runc_by_cgroup_
  std::map<std::string, Container> name_cache_;   // "<runtime>:<id>" -> filled container
  std::optional<std::map<std::string, std::string>> podman_names_;  // id -> name
  std::optional<std::vector<std::string>> containerd_namespaces_;
  std::optional<std::map<std::string, PodInfo>> pods_by_uid_;
  std::optional<std::map<std::string, LogInfo>> logs_by_id_;
};

}  // namespace nscope
