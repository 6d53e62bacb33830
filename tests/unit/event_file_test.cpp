// collect's event file: direct writes in whole blocks, the partial last block through the
// page cache on sync, and plain writes where O_DIRECT does not apply. The file must read back
// exactly what was appended, at every sync.
#include "collect/event_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

struct TempFile {
  std::string dir, path;
  int fd = -1;
  TempFile() {
    char tmpl[] = "/var/tmp/nscope-ut-evfile.XXXXXX";  // a disk file system, not tmpfs
    dir = mkdtemp(tmpl);
    path = dir + "/events.json";
    fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  ~TempFile() {
    if (fd >= 0) close(fd);
    unlink(path.c_str());
    rmdir(dir.c_str());
  }
  std::string content() const {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

// Lines of varying length, so block boundaries fall inside lines.
std::string lines(int first, int count) {
  std::string s;
  for (int i = first; i < first + count; ++i)
    s += "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(static_cast<size_t>(i % 97), 'x') + "\"}\n";
  return s;
}

TEST(EventFile, ReadsBackEverythingAppendedAtEverySync) {
  TempFile t;
  ASSERT_GE(t.fd, 0);
  nscope::EventFile f(t.fd, t.path);
  std::string want;
  for (int round = 0; round < 5; ++round) {
    // Enough to cross many 4 KiB blocks, and once past the 4 MiB buffer.
    int count = round == 3 ? 60000 : 150 + round * 37;
    std::string chunk = lines(round * 100000, count);
    ASSERT_TRUE(f.append(chunk)) << f.error();
    want += chunk;
    ASSERT_TRUE(f.sync()) << f.error();
    EXPECT_EQ(t.content(), want) << "after round " << round;
  }
  ASSERT_TRUE(f.append(lines(900000, 3)));
  want += lines(900000, 3);
  ASSERT_TRUE(f.sync());
  EXPECT_EQ(t.content(), want);
}

TEST(EventFile, UsesDirectWritesOnARegularFileWhereTheFileSystemTakesThem) {
  TempFile t;
  ASSERT_GE(t.fd, 0);
  nscope::EventFile f(t.fd, t.path);
  // Either way the content is right; direct mode is what keeps a flood cheap.
  ASSERT_TRUE(f.append(lines(0, 2000)));
  ASSERT_TRUE(f.sync());
  EXPECT_EQ(t.content(), lines(0, 2000));
  int probe = open(t.path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (probe >= 0) {
    close(probe);
    EXPECT_TRUE(f.direct());
  }
}

TEST(EventFile, APipeGetsPlainWrites) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  std::string got;
  {
    nscope::EventFile f(p[1], "pipe");
    EXPECT_FALSE(f.direct());
    ASSERT_TRUE(f.append("{\"a\":1}\n"));
    ASSERT_TRUE(f.sync());
  }
  close(p[1]);
  char buf[64];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
  close(p[0]);
  EXPECT_EQ(got, "{\"a\":1}\n");
}

}  // namespace
