#include "discover/container.h"

#include <climits>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "util/strings.h"

namespace nscope {

std::string short_container_id(std::string_view id) { return std::string(id.substr(0, 12)); }

std::string container_name_or_id(const Container& c) { return c.name.empty() ? short_container_id(c.id) : c.name; }

std::string container_label(const Container& c) { return c.runtime + ":" + container_name_or_id(c); }
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kTaskDir = "/run/containerd/io.containerd.runtime.v2.task";

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// Lower case only: the runtimes print ids that way, and it keeps unit names out.
bool is_lower_hex(std::string_view s) {
  for (char ch : s)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  return !s.empty();
}

// docker, containerd (CRI and nerdctl), cri-o and podman all use 64-hex-digit ids.
bool is_container_id(std::string_view s) { return s.size() == 64 && is_lower_hex(s); }

// A UUID (8-4-4-4-12), or for static pods the 32-hex-digit hash the kubelet uses as uid.
bool is_pod_uid(std::string_view s) {
  if (s.size() == 32) return is_lower_hex(s);
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_lower_hex(s.substr(i, 1))) return false;
  }
  return true;
}

bool is_uuid(std::string_view s) { return s.size() == 36 && is_pod_uid(s); }

// Container and machine names: hostname-like, which also rules out "..", "/" and blanks.
bool is_plain_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

// "docker-<x>.scope" -> "<x>"; nullopt when s is not prefix…suffix.
std::optional<std::string_view> between(std::string_view s, std::string_view prefix,
                                        std::string_view suffix) {
  if (s.size() <= prefix.size() + suffix.size() || !s.starts_with(prefix) || !s.ends_with(suffix))
    return std::nullopt;
  return s.substr(prefix.size(), s.size() - prefix.size() - suffix.size());
}

// systemd escapes unit-name characters as \xNN ("debian\x2dtest" is "debian-test").
std::string systemd_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      int hi = hex_value(s[i + 2]), lo = hex_value(s[i + 3]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Pod uid from a pod cgroup: systemd driver "kubepods-burstable-pod<uid, _ for ->.slice"
// (any prefix, so kind's "kubelet-kubepods-…" works), cgroupfs driver "pod<uid>" below a
// kubepods directory.
std::optional<std::string> pod_uid_of(std::string_view comp, bool below_kubepods) {
  if (comp.find("kubepods") != std::string_view::npos && comp.ends_with(".slice")) {
    size_t pos = comp.rfind("-pod");
    if (pos == std::string_view::npos) return std::nullopt;
    std::string uid(comp.substr(pos + 4, comp.size() - pos - 4 - 6));
    for (auto& ch : uid)
      if (ch == '_') ch = '-';
    if (is_pod_uid(uid)) return uid;
    return std::nullopt;
  }
  if (below_kubepods && comp.starts_with("pod") && is_pod_uid(comp.substr(3)))
    return std::string(comp.substr(3));
  return std::nullopt;
}

// The container one cgroup path component names; prev is the component above it.
std::optional<Container> marker_of(std::string_view comp, std::string_view prev,
                                   bool right_below_pod) {
  auto make = [](std::string_view runtime, std::string_view id, std::string_view name = {}) {
    Container c;
    c.runtime = runtime;
    c.id = id;
    c.name = name;
    return c;
  };
  if (auto id = between(comp, "docker-", ".scope"); id && is_container_id(*id))
    return make("docker", *id);
  if (prev == "docker" && is_container_id(comp)) return make("docker", comp);
  if (auto id = between(comp, "cri-containerd-", ".scope"); id && is_container_id(*id))
    return make("containerd", *id);
  if (auto id = between(comp, "nerdctl-", ".scope"); id && is_container_id(*id))
    return make("containerd", *id);
  // crio-conmon-<id> / libpod-conmon-<id> hold the monitor, not the container: the id
  // check rejects them since "conmon-…" is not hex.
  if (auto id = between(comp, "crio-", ".scope"); id && is_container_id(*id))
    return make("cri-o", *id);
  if (auto id = between(comp, "crio-", ""); id && is_container_id(*id)) return make("cri-o", *id);
  if (auto id = between(comp, "libpod-", ".scope"); id && is_container_id(*id))
    return make("podman", *id);
  if (auto id = between(comp, "libpod-", ""); id && is_container_id(*id))
    return make("podman", *id);
  // cgroupfs driver: the pod directory holds bare ids and does not say which runtime.
  if (right_below_pod && is_container_id(comp)) return make("kubernetes", comp);
  if (prev == "lxc" && is_plain_name(comp)) return make("lxc", comp, comp);
  if (prev == "lxc.payload" && is_plain_name(comp)) return make("lxc", comp, comp);
  if (auto name = between(comp, "lxc.payload.", ""); name && is_plain_name(*name))
    return make("lxc", *name, *name);
  if (prev == "machine.slice") {
    auto esc = between(comp, "machine-", ".scope");
    if (!esc) esc = between(comp, "systemd-nspawn@", ".service");
    if (esc) {
      std::string name = systemd_unescape(*esc);
      // libvirt registers its guests as machine-qemu\x2d<n>\x2d<name> (lxc-<n>- for
      // libvirt-lxc): those are not nspawn containers.
      bool libvirt = false;
      for (std::string_view p : {"qemu-", "lxc-"}) {
        if (!name.starts_with(p)) continue;
        size_t i = p.size(), digits = 0;
        while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i, ++digits;
        if (digits > 0 && i < name.size() && name[i] == '-') libvirt = true;
      }
      if (!libvirt && is_plain_name(name)) return make("systemd-nspawn", name, name);
    }
  }
  return std::nullopt;
}

std::optional<Container> container_from_path(std::string_view path) {
  std::vector<std::string_view> comps;
  for (auto comp : split(path, '/'))
    if (!comp.empty()) comps.push_back(comp);

  std::optional<Container> found;
  std::string pod_uid;
  size_t pod_idx = SIZE_MAX;
  bool below_kubepods = false;
  for (size_t i = 0; i < comps.size(); ++i) {
    std::string_view comp = comps[i];
    if (auto uid = pod_uid_of(comp, below_kubepods)) {
      pod_uid = *uid;
      pod_idx = i;
      // Only a process in the pod cgroup itself belongs to the pod alone; below it sit the
      // containers and, with cri-o, conmon (crio-conmon-<id>.scope), which is not one.
      if (i + 1 == comps.size()) {
        found = Container{};
        found->runtime = "kubernetes";
        found->pod_uid = pod_uid;
      } else {
        found.reset();
      }
      continue;
    }
    if (comp.find("kubepods") != std::string_view::npos) below_kubepods = true;
    bool right_below_pod = pod_idx != SIZE_MAX && pod_idx + 1 == i;
    if (auto c = marker_of(comp, i > 0 ? comps[i - 1] : std::string_view{}, right_below_pod)) {
      // Innermost wins; the pod belongs to the container directly below it only.
      if (right_below_pod) c->pod_uid = pod_uid;
      found = std::move(c);
    }
  }
  return found;
}

struct CgroupLine {
  std::string_view hierarchy, controllers, path;
  bool v2() const { return hierarchy == "0" && controllers.empty(); }
};

// "N:controllers:/path" lines, v2 first, then name=systemd, then the rest in file order.
std::vector<CgroupLine> cgroup_lines(std::string_view content) {
  std::vector<CgroupLine> lines;
  for (auto raw : split(content, '\n')) {
    auto line = trim(raw);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    CgroupLine l{line.substr(0, c1), line.substr(c1 + 1, c2 - c1 - 1), line.substr(c2 + 1)};
    // v2 marks a removed cgroup that still has (zombie) members.
    if (l.path.ends_with(" (deleted)")) l.path.remove_suffix(10);
    if (l.path.empty() || l.path.front() != '/') continue;
    lines.push_back(l);
  }
  auto rank = [](const CgroupLine& l) {
    if (l.v2()) return 0;
    for (auto ctl : split(l.controllers, ','))
      if (ctl == "name=systemd") return 1;
    return 2;
  };
  std::vector<CgroupLine> ordered;
  ordered.reserve(lines.size());
  for (int r = 0; r <= 2; ++r)
    for (const auto& l : lines)
      if (rank(l) == r) ordered.push_back(l);
  return ordered;
}

std::optional<json> load_json(const std::string& file) {
  auto text = read_file(file);
  if (!text) return std::nullopt;
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Typed lookups that never throw: a wrong type reads as absent.
const json* member(const json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string string_member(const json& j, const char* key) {
  const json* v = member(j, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

// runc records hierarchy mount paths ("/sys/fs/cgroup/system.slice/x.scope", on v1
// "/sys/fs/cgroup/memory/x"); /proc/PID/cgroup shows the path inside the hierarchy.
// nullopt when the path is not below /sys/fs/cgroup, so it cannot be compared.
std::optional<std::string> hierarchy_path(std::string_view controller, std::string_view p) {
  constexpr std::string_view base = "/sys/fs/cgroup";
  if (!p.starts_with(base) || (p.size() > base.size() && p[base.size()] != '/'))
    return std::nullopt;
  p.remove_prefix(base.size());
  if (controller.empty()) {
    // Hybrid hosts mount v2 at /sys/fs/cgroup/unified.
    if (p.starts_with("/unified") && (p.size() == 8 || p[8] == '/')) p.remove_prefix(8);
  } else {
    size_t slash = p.find('/', 1);  // skip the mount directory ("cpu,cpuacct", "systemd")
    p = slash == std::string_view::npos ? std::string_view() : p.substr(slash);
  }
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  if (p.empty()) p = "/";
  return std::string(p);
}

std::string controller_key(std::string_view controller) {
  return controller == "unified" ? std::string() : std::string(controller);
}

void set_if_empty(std::string& field, const std::string& value) {
  if (field.empty() && !value.empty()) field = value;
}

// Kubernetes identity from OCI annotations (containerd CRI, cri-o) or container labels
// (docker via dockershim/cri-dockerd). True when any of it was there.
bool apply_kube_metadata(const json& m, Container& c) {
  auto first = [&](std::initializer_list<const char*> keys) {
    for (const char* k : keys) {
      std::string v = string_member(m, k);
      if (!v.empty()) return v;
    }
    return std::string();
  };
  std::string pod = first({"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"});
  std::string ns = first({"io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace"});
  std::string uid = first({"io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"});
  std::string name =
      first({"io.kubernetes.cri.container-name", "io.kubernetes.container.name", "nerdctl/name"});
  set_if_empty(c.pod, pod);
  set_if_empty(c.pod_namespace, ns);
  set_if_empty(c.pod_uid, uid);
  set_if_empty(c.name, name);
  return !(pod.empty() && ns.empty() && uid.empty() && name.empty());
}

template <class F>
void for_each_entry(const std::string& dir, F&& f) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) f(it->path().filename().string());
}

}  // namespace

std::optional<Container> container_from_cgroup(std::string_view cgroup_file) {
  std::vector<std::string_view> tried;
  for (const auto& line : cgroup_lines(cgroup_file)) {
    // v1 lines mostly repeat one path: parse each distinct path once.
    bool seen = false;
    for (auto t : tried) seen = seen || t == line.path;
    if (seen) continue;
    tried.push_back(line.path);
    if (auto c = container_from_path(line.path)) return c;
  }
  return std::nullopt;
}

ContainerResolver::ContainerResolver(std::string root) : root_(std::move(root)) {
  // Kept without a trailing slash: paths are built as root_ + "/abs/path".
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string ContainerResolver::path(std::string_view rel) const {
  std::string out = root_;
  if (!rel.starts_with('/')) out += '/';
  out += rel;
  return out;
}

void ContainerResolver::load_runc() {
  runc_loaded_ = true;
  std::vector<std::string> ids;
  for_each_entry(path("/run/runc"), [&](std::string id) { ids.push_back(std::move(id)); });
  for (const auto& dir : ids) {
    auto j = load_json(path("/run/runc/" + dir + "/state.json"));
    if (!j || !j->is_object()) continue;
    RuncState st;
    st.c.runtime = "runc";
    st.c.id = string_member(*j, "id");
    if (st.c.id.empty()) st.c.id = dir;
    if (const json* config = member(*j, "config")) {
      if (const json* labels = member(*config, "labels"); labels && labels->is_array()) {
        for (const auto& l : *labels) {
          if (!l.is_string()) continue;
          const auto& s = l.get_ref<const std::string&>();
          if (s.starts_with("bundle=")) st.bundle = s.substr(7);
        }
      }
    }
    size_t idx = runc_.size();
    if (const json* pid = member(*j, "init_process_pid"); pid && pid->is_number_integer()) {
      int64_t v = pid->get<int64_t>();
      if (v > 0 && v <= INT_MAX) runc_by_pid_[static_cast<int>(v)] = idx;
    }
    if (const json* paths = member(*j, "cgroup_paths"); paths && paths->is_object()) {
      for (const auto& [controller, p] : paths->items()) {
        if (!p.is_string()) continue;
        std::string key = controller_key(controller);
        auto rel = hierarchy_path(key, p.get_ref<const std::string&>());
        if (!rel) continue;
        st.cgroup_known = true;
        if (*rel == "/") continue;  // would claim every process on the host
        runc_by_cgroup_[key + ":" + *rel] = idx;
        runc_controllers_.insert(key);
      }
    }
    runc_.push_back(std::move(st));
  }
}

std::optional<size_t> ContainerResolver::match_runc(int pid, std::string_view cgroup_file) {
  if (!runc_loaded_) load_runc();
  if (runc_.empty()) return std::nullopt;
  auto lines = cgroup_lines(cgroup_file);
  if (!runc_by_cgroup_.empty()) {
    for (const auto& line : lines) {
      std::vector<std::string_view> controllers;
      if (line.v2())
        controllers.push_back("");
      else
        controllers = split(line.controllers, ',');
      for (auto ctl : controllers) {
        std::string key = controller_key(ctl);
        if (!runc_controllers_.contains(key)) continue;
        // The container's cgroup or one below it (children, systemd's init.scope, …).
        std::string_view p = line.path;
        while (p.size() > 1) {
          auto it = runc_by_cgroup_.find(key + ":" + std::string(p));
          if (it != runc_by_cgroup_.end()) return it->second;
          p = p.substr(0, p.rfind('/'));
        }
      }
    }
  }
  auto it = runc_by_pid_.find(pid);
  if (it == runc_by_pid_.end()) return std::nullopt;
  // A stopped container leaves its state behind and the pid may be reused: when the
  // state's cgroup is comparable and the process is not in it, this is someone else.
  if (runc_[it->second].cgroup_known && !lines.empty()) return std::nullopt;
  return it->second;
}

bool ContainerResolver::fill_from_docker(Container& c) {
  if (!is_container_id(c.id)) return false;
  auto j = load_json(path("/var/lib/docker/containers/" + c.id + "/config.v2.json"));
  if (!j || !j->is_object()) return false;
  if (const json* config = member(*j, "Config"))
    if (const json* labels = member(*config, "Labels")) apply_kube_metadata(*labels, c);
  std::string name = string_member(*j, "Name");
  if (name.starts_with('/')) name.erase(0, 1);
  set_if_empty(c.name, name);
  return true;
}

bool ContainerResolver::fill_from_bundle(Container& c, const std::string& config_json) {
  auto j = load_json(config_json);
  if (!j || !j->is_object()) return false;
  if (const json* ann = member(*j, "annotations")) apply_kube_metadata(*ann, c);
  return true;
}

void ContainerResolver::fill_from_logs(Container& c) {
  if (!c.pod_uid.empty() && (c.pod.empty() || c.pod_namespace.empty())) {
    if (!pods_by_uid_) {
      pods_by_uid_.emplace();
      // <namespace>_<pod>_<uid>: kubernetes names cannot contain '_'.
      for_each_entry(path("/var/log/pods"), [&](const std::string& entry) {
        auto parts = split(entry, '_');
        if (parts.size() == 3 && is_pod_uid(parts[2]))
          (*pods_by_uid_)[std::string(parts[2])] = {std::string(parts[1]), std::string(parts[0])};
      });
    }
    if (auto it = pods_by_uid_->find(c.pod_uid); it != pods_by_uid_->end()) {
      set_if_empty(c.pod, it->second.pod);
      set_if_empty(c.pod_namespace, it->second.pod_namespace);
    }
  }
  if (c.name.empty() && is_container_id(c.id)) {
    if (!logs_by_id_) {
      logs_by_id_.emplace();
      // <pod>_<namespace>_<container>-<id>.log, one per container (sandboxes have none).
      for_each_entry(path("/var/log/containers"), [&](const std::string& entry) {
        std::string_view e = entry;
        if (!e.ends_with(".log")) return;
        e.remove_suffix(4);
        size_t dash = e.rfind('-');
        if (dash == std::string_view::npos || !is_container_id(e.substr(dash + 1))) return;
        auto parts = split(e.substr(0, dash), '_');
        if (parts.size() != 3) return;
        (*logs_by_id_)[std::string(e.substr(dash + 1))] = {
            std::string(parts[2]), std::string(parts[0]), std::string(parts[1])};
      });
    }
    if (auto it = logs_by_id_->find(c.id); it != logs_by_id_->end()) {
      set_if_empty(c.name, it->second.name);
      set_if_empty(c.pod, it->second.pod);
      set_if_empty(c.pod_namespace, it->second.pod_namespace);
    }
  }
}

void ContainerResolver::fill_name(Container& c) {
  const bool unknown_kube = c.runtime == "kubernetes" && !c.id.empty();
  if (c.runtime == "docker") fill_from_docker(c);
  if (c.runtime == "podman" && is_container_id(c.id)) {
    if (!podman_names_) {
      podman_names_.emplace();
      auto j = load_json(path("/var/lib/containers/storage/overlay-containers/containers.json"));
      if (j && j->is_array()) {
        for (const auto& e : *j) {
          const json* names = member(e, "names");
          std::string id = string_member(e, "id");
          if (id.empty() || !names || !names->is_array() || names->empty()) continue;
          if ((*names)[0].is_string()) (*podman_names_)[id] = (*names)[0].get<std::string>();
        }
      }
    }
    if (auto it = podman_names_->find(c.id); it != podman_names_->end()) c.name = it->second;
  }
  if ((c.runtime == "containerd" || unknown_kube) && is_container_id(c.id)) {
    if (!containerd_namespaces_) {
      containerd_namespaces_.emplace();
      for_each_entry(path(kTaskDir),
                     [&](std::string ns) { containerd_namespaces_->push_back(std::move(ns)); });
    }
    for (const auto& ns : *containerd_namespaces_) {
      if (fill_from_bundle(c,
                           path(std::string(kTaskDir) + "/" + ns + "/" + c.id + "/config.json"))) {
        if (unknown_kube) c.runtime = "containerd";
        break;
      }
    }
  }
  if ((c.runtime == "cri-o" || (unknown_kube && c.runtime == "kubernetes")) &&
      is_container_id(c.id)) {
    if (fill_from_bundle(c, path("/run/containers/storage/overlay-containers/" + c.id +
                                 "/userdata/config.json")) &&
        unknown_kube)
      c.runtime = "cri-o";
  }
  if (unknown_kube && c.runtime == "kubernetes" && fill_from_docker(c)) c.runtime = "docker";
  if (!c.pod_uid.empty()) fill_from_logs(c);
}

std::optional<Container> ContainerResolver::identify(int pid, std::string_view cgroup_file) {
  if (auto c = container_from_cgroup(cgroup_file)) {
    std::string key = c->runtime + ":" + c->id + ":" + c->pod_uid;
    if (auto it = name_cache_.find(key); it != name_cache_.end()) return it->second;
    fill_name(*c);
    name_cache_.emplace(std::move(key), *c);
    return c;
  }
  auto idx = match_runc(pid, cgroup_file);
  if (!idx) return std::nullopt;
  RuncState& st = runc_[*idx];
  if (!st.filled) {
    st.filled = true;
    // Docker and containerd run runc on a bundle whose config.json carries their
    // annotations (kubernetes names, nerdctl/name).
    if (!st.bundle.empty() && st.bundle.front() == '/')
      fill_from_bundle(st.c, path(st.bundle + "/config.json"));
    if (!st.c.pod_uid.empty()) fill_from_logs(st.c);
    if (st.c.name.empty()) st.c.name = st.c.id;
  }
  return st.c;
}

std::optional<Container> ContainerResolver::from_netns_name(std::string_view name) {
  for (std::string_view prefix : {"qrouter-", "qdhcp-", "snat-", "fip-", "ovnmeta-"}) {
    if (!name.starts_with(prefix) || !is_uuid(name.substr(prefix.size()))) continue;
    Container c;
    c.runtime = "openstack";
    c.id = name.substr(prefix.size());
    c.name = name;
    return c;
  }
  return std::nullopt;
}

}  // namespace nscope
