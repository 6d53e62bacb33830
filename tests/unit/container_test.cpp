// Container identification from /proc/PID/cgroup contents and runtime state trees laid out
// as docker, containerd, cri-o, podman, runc and the kubelet lay them out on a host.
#include "discover/container.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "util/strings.h"

namespace nscope {
namespace {

namespace fs = std::filesystem;

const std::string kDir = std::string(NSCOPE_FIXTURES) + "/containers";
const std::string kRoot = kDir + "/root";
const std::string kBadRoot = kDir + "/badroot";

// Ids and pod uids used throughout the fixture tree.
constexpr const char* kDockerWeb =
    "f31f384749f9115acf01fcf82f5a966b59dcc0a4cbd7c9740888c0bf32aa2bbb";
constexpr const char* kDindInner =
    "25437081047c7971d2f51245b48f1164f706d9c60766dccb09958fc914ad08f1";
constexpr const char* kNginx = "ee2c97da97b7c44b58b34bd3d12a84f1d715b371fa13eacbafe6c4e4d08416ce";
constexpr const char* kSandbox = "9f447d269d738d512ac261a92210b711f11a1d3a0bd3d8e718849543981ecccd";
constexpr const char* kCoredns = "4957b578bd4152d51429d77e4968f87ec903dec067da2537601a038636347220";
constexpr const char* kPodmanDb =
    "cc68e1d9877507693f2627038a9947317d784e78728a2cdc290274f23414b7e0";
constexpr const char* kPodmanInfra =
    "0b7c5e4f1a2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7";
constexpr const char* kPodmanRootless =
    "56dfa3bc944415a972b0fe05883435f6f061150cc65600d923a24fd565932362";
constexpr const char* kCgfsContainerd =
    "6c63fe2348d8d42a8ade51d40d9322df07274ed8c880de8cbf891b3dc5b153b4";
constexpr const char* kCgfsDocker =
    "07a85c567741f08cd46b5fe3f0b85b3b0c8b09a781a079e3ab82296f775981bc";
constexpr const char* kCgfsUnknown =
    "63410b8ed6fe5b5b29969fb4924e51766684ba73f775f5c8a3dc6d67c7ca017c";
constexpr const char* kKindCtr = "fc7d8b383769d2cf860a0ecc7ba74764d8dcb067512285e66f291c68419bd4b5";
constexpr const char* kNerdctl = "126d289b69f4fd0f8b7b07bcd9453b8cd4ee147fe4748f2f58f144e930733c25";
constexpr const char* kApiserver =
    "8fa8c3a431ee4c139617ddd7a142a179a95edab4f317a427a31eceab4c9d5d01";
constexpr const char* kSidecar = "5d5cda8a42f42a7f654b325a9d9b194d81312079e695e42d84ff3ed068164f71";
constexpr const char* kWebUid = "4678f48e-9e6e-53d3-9c13-dbd66056a5d1";
constexpr const char* kCorednsUid = "cd25af45-5a5d-5e00-9200-e7206f386688";
constexpr const char* kGuaranteedUid = "ac151e0a-51a9-5792-bb99-55edccd73074";
constexpr const char* kCgfsUid = "c7873787-2bc4-5894-b6fc-2e1532a36fea";
constexpr const char* kDockerPodUid = "e5f24737-828f-57e1-8e83-ea1fc89ff66d";
constexpr const char* kBlackboxUid = "30431ddf-0f12-5dbc-b1c4-a2c8412bf43e";
constexpr const char* kKindUid = "4848d238-2a0a-50ab-8e72-819f8849e8d1";
constexpr const char* kStaticUid = "09985bfe3454b3fa21aaae79d99009b8";

// Content of a fixture /proc/PID/cgroup file.
std::string cgroup(const std::string& name) {
  auto text = read_file(kDir + "/cgroup/" + name);
  if (!text) ADD_FAILURE() << "missing fixture cgroup/" << name;
  return text.value_or("");
}

std::optional<Container> parse(const std::string& name) {
  return container_from_cgroup(cgroup(name));
}

void expect_container(const std::optional<Container>& c, const std::string& runtime,
                      const std::string& id, const std::string& name = "",
                      const std::string& pod_uid = "") {
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->runtime, runtime);
  EXPECT_EQ(c->id, id);
  EXPECT_EQ(c->name, name);
  EXPECT_EQ(c->pod_uid, pod_uid);
}

void expect_pod(const std::optional<Container>& c, const std::string& pod, const std::string& ns) {
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->pod, pod);
  EXPECT_EQ(c->pod_namespace, ns);
}

// --- the pure cgroup parser -------------------------------------------------------------

TEST(Container, DockerCgroupfsV1) {
  expect_container(parse("docker-v1-cgroupfs"), "docker", kDockerWeb);
}

TEST(Container, DockerSystemdV2) {
  expect_container(parse("docker-v2-systemd"), "docker", kDockerWeb);
}

TEST(Container, DockerHybridFallsBackToV1Lines) {
  // The unified line points at containerd.service; the v1 lines know the container.
  expect_container(parse("docker-hybrid"), "docker", kDockerWeb);
}

TEST(Container, DeletedCgroupSuffixIgnored) {
  expect_container(parse("docker-v2-deleted"), "docker", kDockerWeb);
}

TEST(Container, ProcessInSubCgroupOfContainer) {
  // systemd as a container's init moves itself to init.scope below the container scope.
  expect_container(parse("docker-v2-systemd-inside"), "docker", kDockerWeb);
}

TEST(Container, DockerInDockerInnermostWins) {
  expect_container(parse("dind-v1"), "docker", kDindInner);
}

TEST(Container, NerdctlIsContainerd) {
  expect_container(parse("nerdctl-v2"), "containerd", kNerdctl);
}

TEST(Container, KubernetesContainerdSystemdDriver) {
  expect_container(parse("k8s-containerd-systemd-v2"), "containerd", kNginx, "", kWebUid);
  expect_container(parse("k8s-containerd-sandbox-v2"), "containerd", kSandbox, "", kWebUid);
}

TEST(Container, KubernetesGuaranteedPodHasNoQosSlice) {
  expect_container(parse("k8s-guaranteed-v2"), "containerd", kCgfsContainerd, "", kGuaranteedUid);
}

TEST(Container, KubernetesStaticPodHashUid) {
  expect_container(parse("k8s-static-pod-v2"), "containerd", kApiserver, "", kStaticUid);
}

TEST(Container, KubernetesCgroupfsBareIdHasNoRuntime) {
  expect_container(parse("k8s-cgroupfs-containerd-v1"), "kubernetes", kCgfsContainerd, "",
                   kCgfsUid);
}

TEST(Container, KubernetesDockerSystemdV1) {
  expect_container(parse("k8s-docker-systemd-v1"), "docker", kCgfsDocker, "", kDockerPodUid);
}

TEST(Container, KubernetesPodWithoutContainer) {
  expect_container(parse("k8s-pod-only-v2"), "kubernetes", "", "", kWebUid);
}

TEST(Container, KindNodeNestedInDocker) {
  // The innermost marker (the pod's container) wins over the kind node's docker scope.
  expect_container(parse("kind-nested-v2"), "containerd", kKindCtr, "", kKindUid);
}

TEST(Container, CrioSystemdDriverContainerSubcgroup) {
  expect_container(parse("crio-k8s-v2"), "cri-o", kCoredns, "", kCorednsUid);
}

TEST(Container, CrioCgroupfsDriver) {
  expect_container(parse("crio-cgroupfs-v1"), "cri-o", kCoredns, "", kCorednsUid);
}

TEST(Container, CrioConmonIsNotTheContainer) { EXPECT_FALSE(parse("crio-conmon-v2")); }

TEST(Container, PodmanRootful) { expect_container(parse("podman-v2"), "podman", kPodmanDb); }

TEST(Container, PodmanRootless) {
  expect_container(parse("podman-rootless-v2"), "podman", kPodmanRootless);
}

TEST(Container, PodmanCgroupfs) {
  expect_container(parse("podman-cgroupfs-v1"), "podman", kPodmanDb);
}

TEST(Container, PodmanPodMember) {
  // Containers of a podman pod sit below the pod's slice in machine.slice.
  auto c = container_from_cgroup("0::/machine.slice/machine-libpod_pod_" + std::string(64, 'a') +
                                 ".slice/libpod-" + kPodmanDb + ".scope/container\n");
  expect_container(c, "podman", kPodmanDb);
  EXPECT_FALSE(container_from_cgroup("0::/machine.slice/machine-libpod_pod_" +
                                     std::string(64, 'a') + ".slice\n"));
}

TEST(Container, PodmanConmonIsNotTheContainer) { EXPECT_FALSE(parse("podman-conmon-v2")); }

TEST(Container, Lxc) {
  expect_container(parse("lxc-v1"), "lxc", "web01", "web01");
  expect_container(parse("lxc-payload-v2"), "lxc", "web01", "web01");
  expect_container(parse("lxd-payload-v1"), "lxc", "web01", "web01");
}

TEST(Container, LxcMonitorIsNotTheContainer) { EXPECT_FALSE(parse("lxc-monitor-v2")); }

TEST(Container, NspawnUnescapesMachineName) {
  expect_container(parse("nspawn-v2"), "systemd-nspawn", "debian-test", "debian-test");
  expect_container(parse("nspawn-v1"), "systemd-nspawn", "debian-test", "debian-test");
  expect_container(parse("nspawn-service-v2"), "systemd-nspawn", "arch", "arch");
}

TEST(Container, LibvirtGuestIsNotNspawn) { EXPECT_FALSE(parse("libvirt-qemu-v2")); }

TEST(Container, HostProcessesAreNotContainers) {
  EXPECT_FALSE(parse("host-session-v2"));
  EXPECT_FALSE(parse("host-session-v1"));
  EXPECT_FALSE(parse("host-init-v2"));
  EXPECT_FALSE(parse("dockerd"));
  EXPECT_FALSE(parse("runc-web-v2"));  // runc leaves no marker: only its state can tell
}

TEST(Container, InvalidIdsRejected) {
  EXPECT_FALSE(parse("docker-short-id"));
  EXPECT_FALSE(parse("docker-nonhex"));
  EXPECT_FALSE(parse("docker-uppercase"));
  EXPECT_FALSE(parse("docker-bad-dir"));
  EXPECT_FALSE(container_from_cgroup("0::/system.slice/cri-containerd-1234.scope\n"));
  EXPECT_FALSE(container_from_cgroup("0::/machine.slice/libpod-xyz.scope\n"));
  EXPECT_FALSE(container_from_cgroup("0::/kubepods.slice/kubepods-podnot_a_uid.slice\n"));
  EXPECT_FALSE(container_from_cgroup("0::/lxc/..\n"));
  EXPECT_FALSE(container_from_cgroup("0::/machine.slice/machine-.scope\n"));
}

TEST(Container, MalformedContentDoesNotCrash) {
  EXPECT_FALSE(parse("garbage"));
  EXPECT_FALSE(container_from_cgroup(""));
  EXPECT_FALSE(container_from_cgroup("\n\n"));
  EXPECT_FALSE(container_from_cgroup("0::/"));
  EXPECT_FALSE(container_from_cgroup("0::docker/" + std::string(kDockerWeb)));  // not absolute
  EXPECT_FALSE(container_from_cgroup(std::string("0::/docker/\0\0", 13)));
}

// --- the resolver over a fixture root ---------------------------------------------------

TEST(Container, ResolverDockerName) {
  ContainerResolver r(kRoot);
  expect_container(r.identify(2817, cgroup("docker-v2-systemd")), "docker", kDockerWeb, "web");
  expect_container(r.identify(2818, cgroup("docker-v1-cgroupfs")), "docker", kDockerWeb, "web");
  // No config.v2.json for the inner container: known, but unnamed.
  expect_container(r.identify(2900, cgroup("dind-v1")), "docker", kDindInner, "");
}

TEST(Container, ResolverPodmanName) {
  ContainerResolver r(kRoot);
  expect_container(r.identify(3100, cgroup("podman-v2")), "podman", kPodmanDb, "db");
  expect_container(r.identify(3101, cgroup("podman-cgroupfs-v1")), "podman", kPodmanDb, "db");
  // Rootless storage lives in the user's home, not below /var/lib/containers.
  expect_container(r.identify(3200, cgroup("podman-rootless-v2")), "podman", kPodmanRootless, "");
}

TEST(Container, ResolverContainerdBundleAnnotations) {
  ContainerResolver r(kRoot);
  auto c = r.identify(5200, cgroup("k8s-containerd-systemd-v2"));
  expect_container(c, "containerd", kNginx, "nginx", kWebUid);
  expect_pod(c, "web-7d9c4b8f6-x2x9k", "default");
  // The pause container holds the pod's network namespace; it has no container name.
  auto sandbox = r.identify(5120, cgroup("k8s-containerd-sandbox-v2"));
  expect_container(sandbox, "containerd", kSandbox, "", kWebUid);
  expect_pod(sandbox, "web-7d9c4b8f6-x2x9k", "default");
  expect_container(r.identify(5300, cgroup("nerdctl-v2")), "containerd", kNerdctl, "cache");
}

TEST(Container, ResolverCgroupfsBareIdLearnsRuntime) {
  ContainerResolver r(kRoot);
  auto ctrd = r.identify(6100, cgroup("k8s-cgroupfs-containerd-v1"));
  expect_container(ctrd, "containerd", kCgfsContainerd, "node-exporter", kCgfsUid);
  expect_pod(ctrd, "node-exporter-h7x2q", "monitoring");
  auto docker = r.identify(6200, cgroup("k8s-cgroupfs-docker-v1"));
  expect_container(docker, "docker", kCgfsDocker, "coredns", kDockerPodUid);
  expect_pod(docker, "coredns-787d4945fb-l85r5", "kube-system");
  // No runtime state at all: the kubelet's log directories still name pod and container.
  auto unknown = r.identify(6300, cgroup("k8s-cgroupfs-unknown-v1"));
  expect_container(unknown, "kubernetes", kCgfsUnknown, "blackbox", kBlackboxUid);
  expect_pod(unknown, "blackbox-6f7d9", "monitoring");
}

TEST(Container, ResolverDockerKubernetesLabels) {
  ContainerResolver r(kRoot);
  auto c = r.identify(3301, cgroup("k8s-docker-systemd-v1"));
  expect_container(c, "docker", kCgfsDocker, "coredns", kDockerPodUid);
  expect_pod(c, "coredns-787d4945fb-l85r5", "kube-system");
}

TEST(Container, ResolverCrioAnnotations) {
  ContainerResolver r(kRoot);
  auto c = r.identify(7100, cgroup("crio-k8s-v2"));
  expect_container(c, "cri-o", kCoredns, "coredns", kCorednsUid);
  expect_pod(c, "coredns-5d78c9869d-7qk2m", "kube-system");
  auto cgfs = r.identify(7101, cgroup("crio-cgroupfs-v1"));
  expect_container(cgfs, "cri-o", kCoredns, "coredns", kCorednsUid);
  expect_pod(cgfs, "coredns-5d78c9869d-7qk2m", "kube-system");
}

TEST(Container, ResolverPodLogsByUid) {
  ContainerResolver r(kRoot);
  // No bundle for the static pod's container: /var/log/pods and /var/log/containers tell.
  auto c = r.identify(8100, cgroup("k8s-static-pod-v2"));
  expect_container(c, "containerd", kApiserver, "kube-apiserver", kStaticUid);
  expect_pod(c, "kube-apiserver-node1", "kube-system");
  auto pod = r.identify(8200, cgroup("k8s-pod-only-v2"));
  expect_container(pod, "kubernetes", "", "", kWebUid);
  expect_pod(pod, "web-7d9c4b8f6-x2x9k", "default");
  // Nothing recorded for the kind pod: ids only.
  auto kind = r.identify(8300, cgroup("kind-nested-v2"));
  expect_container(kind, "containerd", kKindCtr, "", kKindUid);
  expect_pod(kind, "", "");
}

TEST(Container, ResolverLxcAndNspawn) {
  ContainerResolver r(kRoot);
  expect_container(r.identify(9100, cgroup("lxc-payload-v2")), "lxc", "web01", "web01");
  expect_container(r.identify(9200, cgroup("nspawn-v2")), "systemd-nspawn", "debian-test",
                   "debian-test");
}

TEST(Container, RuncByInitPidAndCgroupV2) {
  ContainerResolver r(kRoot);
  expect_container(r.identify(4100, cgroup("runc-web-v2")), "runc", "web", "web");
  // A child of the init, in the same cgroup or one below it.
  expect_container(r.identify(4107, cgroup("runc-web-v2")), "runc", "web", "web");
  expect_container(r.identify(4108, cgroup("runc-web-child-v2")), "runc", "web", "web");
  // The init pid alone, when the cgroup file could not be read.
  expect_container(r.identify(4100, ""), "runc", "web", "web");
  EXPECT_FALSE(r.identify(4109, cgroup("runc-other-v2")));
}

TEST(Container, RuncCgroupV1) {
  ContainerResolver r(kRoot);
  expect_container(r.identify(4200, cgroup("runc-db-v1")), "runc", "db", "db");
  expect_container(r.identify(4201, cgroup("runc-db-v1")), "runc", "db", "db");
}

TEST(Container, RuncWithoutCgroupsMatchesInitPidOnly) {
  ContainerResolver r(kRoot);
  expect_container(r.identify(4300, cgroup("runc-rootless-v2")), "runc", "rootless", "rootless");
  EXPECT_FALSE(r.identify(4301, cgroup("runc-rootless-v2")));
}

TEST(Container, RuncStaleStateDoesNotClaimReusedPid) {
  ContainerResolver r(kRoot);
  // pid 4400 is the stale state's init, but the process now lives in a login session.
  EXPECT_FALSE(r.identify(4400, cgroup("host-session-v2")));
}

TEST(Container, RuncBundleAnnotationsGiveBetterName) {
  ContainerResolver r(kRoot);
  auto c = r.identify(4600, cgroup("runc-sidecar-v2"));
  expect_container(c, "runc", kSidecar, "envoy", kWebUid);
  expect_pod(c, "web-7d9c4b8f6-x2x9k", "default");
}

TEST(Container, RuncMalformedStatesSkipped) {
  ContainerResolver r(kRoot);
  EXPECT_FALSE(r.identify(4700, cgroup("runc-other-v2")));  // "broken": truncated JSON
  EXPECT_FALSE(r.identify(4500, cgroup("runc-other-v2")));  // "wrongtypes": pid is a string
  EXPECT_FALSE(r.identify(1, cgroup("host-init-v2")));
  EXPECT_FALSE(r.identify(1, ""));
}

TEST(Container, ResolverSurvivesDamagedState) {
  ContainerResolver r(kBadRoot);
  expect_container(r.identify(2817, cgroup("docker-v2-systemd")), "docker", kDockerWeb, "");
  expect_container(r.identify(3100, cgroup("podman-v2")), "podman", kPodmanDb, "");
  auto c = r.identify(5200, cgroup("k8s-containerd-systemd-v2"));
  expect_container(c, "containerd", kNginx, "", kWebUid);
  expect_pod(c, "", "");
  expect_container(r.identify(7100, cgroup("crio-k8s-v2")), "cri-o", kCoredns, "", kCorednsUid);
  EXPECT_FALSE(r.identify(4100, cgroup("runc-web-v2")));
}

TEST(Container, ResolverMissingRoot) {
  ContainerResolver r(kDir + "/does-not-exist");
  expect_container(r.identify(2817, cgroup("docker-v2-systemd")), "docker", kDockerWeb, "");
  EXPECT_FALSE(r.identify(4100, cgroup("runc-web-v2")));
}

TEST(Container, ResolverReadsStateOnce) {
  // Work on a copy so the state can be taken away after the first lookups.
  fs::path tmp = fs::temp_directory_path() / ("nscope-container-test-" + std::to_string(getpid()));
  fs::remove_all(tmp);
  fs::copy(kRoot, tmp, fs::copy_options::recursive);
  ContainerResolver r(tmp.string() + "/");  // a trailing slash is fine
  expect_container(r.identify(2817, cgroup("docker-v2-systemd")), "docker", kDockerWeb, "web");
  expect_container(r.identify(3100, cgroup("podman-v2")), "podman", kPodmanDb, "db");
  expect_container(r.identify(4100, cgroup("runc-web-v2")), "runc", "web", "web");
  expect_pod(r.identify(8200, cgroup("k8s-pod-only-v2")), "web-7d9c4b8f6-x2x9k", "default");
  fs::remove_all(tmp / "var");
  fs::remove_all(tmp / "run");

  // Further processes of known containers, another podman container, another runc child,
  // another pod's uid lookup: all answered from what was read the first time.
  expect_container(r.identify(2820, cgroup("docker-v1-cgroupfs")), "docker", kDockerWeb, "web");
  expect_container(r.identify(3300, "0::/machine.slice/libpod-" + std::string(kPodmanInfra) +
                                        ".scope/container\n"),
                   "podman", kPodmanInfra, "2f5d6b7c8a9e-infra");
  expect_container(r.identify(4111, cgroup("runc-web-child-v2")), "runc", "web", "web");
  expect_container(r.identify(4201, cgroup("runc-db-v1")), "runc", "db", "db");
  expect_pod(r.identify(8300,
                        "0::/kubepods.slice/kubepods-burstable.slice/"
                        "kubepods-burstable-podcd25af45_5a5d_5e00_9200_e7206f386688.slice\n"),
             "coredns-5d78c9869d-7qk2m", "kube-system");
  fs::remove_all(tmp);
}

TEST(Container, ResolverManyProcesses) {
  // A scan's worth of lookups: host processes and a few containers, all consistent.
  ContainerResolver r(kRoot);
  const std::string host = cgroup("host-session-v1");
  const std::string docker = cgroup("docker-v2-systemd");
  const std::string web = cgroup("runc-web-child-v2");
  const std::string nginx = cgroup("k8s-containerd-systemd-v2");
  for (int pid = 10000; pid < 12000; ++pid) {
    switch (pid % 4) {
      case 0:
        ASSERT_FALSE(r.identify(pid, host));
        break;
      case 1:
        ASSERT_EQ(r.identify(pid, docker).value().name, "web");
        break;
      case 2:
        ASSERT_EQ(r.identify(pid, web).value().id, "web");
        break;
      default:
        ASSERT_EQ(r.identify(pid, nginx).value().name, "nginx");
    }
  }
}

TEST(Container, OpenstackNetnsNames) {
  const std::string uuid = "3b4c1f4e-8d6a-4d1f-9a3e-0f2b7c9d8e11";
  for (std::string prefix : {"qrouter-", "qdhcp-", "snat-", "fip-", "ovnmeta-"}) {
    auto c = ContainerResolver::from_netns_name(prefix + uuid);
    ASSERT_TRUE(c) << prefix;
    EXPECT_EQ(c->runtime, "openstack");
    EXPECT_EQ(c->id, uuid);
    EXPECT_EQ(c->name, prefix + uuid);
    EXPECT_EQ(c->pod, "");
  }
  EXPECT_FALSE(ContainerResolver::from_netns_name("qrouter-"));
  EXPECT_FALSE(ContainerResolver::from_netns_name("qrouter-1234"));
  EXPECT_FALSE(ContainerResolver::from_netns_name("qrouter-" + uuid + "x"));
  EXPECT_FALSE(ContainerResolver::from_netns_name("qrouterx" + uuid));
  EXPECT_FALSE(ContainerResolver::from_netns_name("cni-8a5d2e6f-3c1b-7d4e-9f0a-1b2c3d4e5f60"));
  EXPECT_FALSE(ContainerResolver::from_netns_name("blue"));
  EXPECT_FALSE(ContainerResolver::from_netns_name(""));
}

}  // namespace
}  // namespace nscope
