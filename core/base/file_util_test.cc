#include "core/base/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Each test works in its own fresh directory under TEST_TMPDIR, so directory
// listings see only what the test itself created.
class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    ASSERT_NE(tmp, nullptr) << "TEST_TMPDIR is not set; run under bazel test";
    std::string templ = absl::StrCat(tmp, "/file_util_test.XXXXXX");
    std::vector<char> buffer(templ.begin(), templ.end());
    buffer.push_back('\0');
    ASSERT_NE(::mkdtemp(buffer.data()), nullptr) << std::strerror(errno);
    dir_ = buffer.data();
  }

  std::string Path(const std::string& name) const { return absl::StrCat(dir_, "/", name); }

  // Names in the test directory, without "." and "..".
  std::vector<std::string> ListDir() const {
    std::vector<std::string> names;
    DIR* d = ::opendir(dir_.c_str());
    EXPECT_NE(d, nullptr) << std::strerror(errno);
    if (d == nullptr) return names;
    while (const struct dirent* entry = ::readdir(d)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  // Creates `name` with `contents` and exactly `mode`, independently of the
  // code under test.
  std::string MakeFile(const std::string& name, const std::string& contents, mode_t mode) {
    const std::string path = Path(name);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
    if (fd < 0) return path;
    EXPECT_EQ(::write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
    EXPECT_EQ(::fchmod(fd, mode), 0);
    EXPECT_EQ(::close(fd), 0);
    return path;
  }

  static std::string ReadAll(const std::string& path) {
    std::string out;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << path << ": " << std::strerror(errno);
    if (fd < 0) return out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return out;
  }

  static mode_t ModeOf(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
    return st.st_mode & 07777;
  }

  std::string dir_;
};

// Writes.

TEST_F(FileUtilTest, WriteCreatesTheFileWithTheContents) {
  const std::string path = Path("config.textproto");
  ASSERT_TRUE(WriteFileAtomically(path, "listen: 443\n", 0644).ok());
  EXPECT_EQ(ReadAll(path), "listen: 443\n");
  EXPECT_THAT(ListDir(), ElementsAre("config.textproto"));
}

TEST_F(FileUtilTest, WriteKeepsBinaryContents) {
  const std::string path = Path("key.bin");
  const std::string contents("\x00\x01\xff\x00zz", 6);
  ASSERT_TRUE(WriteFileAtomically(path, contents, 0600).ok());
  EXPECT_EQ(ReadAll(path), contents);
}

TEST_F(FileUtilTest, WriteOfEmptyContentsCreatesAnEmptyFile) {
  const std::string path = Path("empty");
  ASSERT_TRUE(WriteFileAtomically(path, "", 0600).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
}

TEST_F(FileUtilTest, WriteOfAnEmptyPathIsInvalid) {
  absl::Status status = WriteFileAtomically("", "x", 0600);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "empty file path");
}

class WriteModeBitsTest : public FileUtilTest, public ::testing::WithParamInterface<mode_t> {};

TEST_P(WriteModeBitsTest, SetsTheExactModeWhateverTheUmask) {
  const mode_t mode = GetParam();
  const std::string path = Path("file");
  // A strict umask would strip group and other bits from a plain open(); the
  // mode must come out exact anyway.
  const mode_t old_umask = ::umask(077);
  absl::Status status = WriteFileAtomically(path, "data", mode);
  ::umask(old_umask);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ModeOf(path), mode) << absl::StrFormat("want %04o got %04o", mode, ModeOf(path));
  EXPECT_EQ(ReadAll(path), "data");
}

TEST_P(WriteModeBitsTest, ReplacingAFileSetsTheNewMode) {
  const mode_t mode = GetParam();
  const std::string path = MakeFile("file", "old", mode == 0600 ? 0644 : 0600);
  ASSERT_TRUE(WriteFileAtomically(path, "new", mode).ok());
  EXPECT_EQ(ModeOf(path), mode) << absl::StrFormat("want %04o got %04o", mode, ModeOf(path));
  EXPECT_EQ(ReadAll(path), "new");
}

INSTANTIATE_TEST_SUITE_P(Modes, WriteModeBitsTest,
                         ::testing::Values(mode_t{0600}, mode_t{0644}, mode_t{0640}, mode_t{0400},
                                           mode_t{0444}, mode_t{0666}, mode_t{0700}, mode_t{0755}),
                         [](const ::testing::TestParamInfo<mode_t>& info) {
                           return absl::StrFormat("Mode%04o", info.param);
                         });

TEST_F(FileUtilTest, ReplaceOverwritesAnExistingFile) {
  const std::string path = MakeFile("state", "old contents that are longer", 0600);
  ASSERT_TRUE(WriteFileAtomically(path, "new", 0600, WriteMode::kReplace).ok());
  EXPECT_EQ(ReadAll(path), "new");
  EXPECT_THAT(ListDir(), ElementsAre("state"));
}

TEST_F(FileUtilTest, ReplaceIsTheDefaultMode) {
  const std::string path = MakeFile("state", "old", 0600);
  ASSERT_TRUE(WriteFileAtomically(path, "new", 0600).ok());
  EXPECT_EQ(ReadAll(path), "new");
}

// The new contents go to a new inode that is renamed into place; the old file
// is never truncated and rewritten, so another name for it keeps the old bytes.
TEST_F(FileUtilTest, ReplaceSwapsInANewFileInsteadOfRewritingInPlace) {
  const std::string path = MakeFile("state", "old", 0600);
  const std::string other_name = Path("hardlink");
  ASSERT_EQ(::link(path.c_str(), other_name.c_str()), 0) << std::strerror(errno);
  ASSERT_TRUE(WriteFileAtomically(path, "new", 0600).ok());
  EXPECT_EQ(ReadAll(path), "new");
  EXPECT_EQ(ReadAll(other_name), "old");
  EXPECT_THAT(ListDir(), ElementsAre("hardlink", "state"));
}

TEST_F(FileUtilTest, CreateNewWritesAnAbsentFile) {
  const std::string path = Path("device.key");
  ASSERT_TRUE(WriteFileAtomically(path, "secret", 0600, WriteMode::kCreateNew).ok());
  EXPECT_EQ(ReadAll(path), "secret");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(ListDir(), ElementsAre("device.key"));
}

TEST_F(FileUtilTest, CreateNewRefusesToOverwriteAndLeavesTheOriginal) {
  const std::string path = MakeFile("device.key", "original", 0600);
  absl::Status status = WriteFileAtomically(path, "replacement", 0644, WriteMode::kCreateNew);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), absl::StrCat(path, " already exists; refusing to overwrite it"));
  EXPECT_EQ(ReadAll(path), "original");
  EXPECT_EQ(ModeOf(path), 0600u);
  // The temporary file was removed.
  EXPECT_THAT(ListDir(), ElementsAre("device.key"));
}

TEST_F(FileUtilTest, CreateNewRefusesADanglingSymlink) {
  const std::string path = Path("device.key");
  ASSERT_EQ(::symlink(Path("nowhere").c_str(), path.c_str()), 0) << std::strerror(errno);
  absl::Status status = WriteFileAtomically(path, "secret", 0600, WriteMode::kCreateNew);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("refusing to overwrite"));
  EXPECT_THAT(ListDir(), ElementsAre("device.key"));
}

TEST_F(FileUtilTest, NoTemporaryFilesAreLeftAfterSuccessfulWrites) {
  ASSERT_TRUE(WriteFileAtomically(Path("a"), "1", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(Path("a"), "2", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(Path("b"), "3", 0644, WriteMode::kCreateNew).ok());
  EXPECT_THAT(ListDir(), ElementsAre("a", "b"));
}

TEST_F(FileUtilTest, WriteIntoAMissingDirectoryIsNotFound) {
  const std::string path = Path("missing/file");
  absl::Status status = WriteFileAtomically(path, "x", 0600);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(ListDir(), IsEmpty());
}

TEST_F(FileUtilTest, CreateNewIntoAMissingDirectoryIsNotFound) {
  const std::string path = Path("missing/file");
  absl::Status status = WriteFileAtomically(path, "x", 0600, WriteMode::kCreateNew);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(ListDir(), IsEmpty());
}

TEST_F(FileUtilTest, ReplacingADirectoryFailsAndLeavesNoTemporaryFile) {
  const std::string path = Path("subdir");
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0) << std::strerror(errno);
  absl::Status status = WriteFileAtomically(path, "x", 0600);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("replacing ", path)));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_THAT(ListDir(), ElementsAre("subdir"));
}

// Reads.

TEST_F(FileUtilTest, ReadFileBoundedReturnsTheContents) {
  const std::string path = MakeFile("config", "hello\nworld\n", 0644);
  absl::StatusOr<std::string> contents = ReadFileBounded(path, 1024);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, "hello\nworld\n");
}

TEST_F(FileUtilTest, ReadFileBoundedReadsWhatWriteFileAtomicallyWrote) {
  const std::string path = Path("roundtrip");
  std::string contents;
  for (int i = 0; i < 100000; ++i) contents.push_back(static_cast<char>(i * 7));
  ASSERT_TRUE(WriteFileAtomically(path, contents, 0600).ok());
  absl::StatusOr<std::string> read = ReadFileBounded(path, contents.size());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, contents);
}

TEST_F(FileUtilTest, ReadFileBoundedAcceptsAFileExactlyAtTheLimit) {
  const std::string path = MakeFile("config", "12345", 0644);
  absl::StatusOr<std::string> contents = ReadFileBounded(path, 5);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, "12345");
}

TEST_F(FileUtilTest, ReadFileBoundedRejectsAFileOverTheLimit) {
  const std::string path = MakeFile("config", "123456", 0644);
  absl::StatusOr<std::string> contents = ReadFileBounded(path, 5);
  ASSERT_FALSE(contents.ok());
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(contents.status().message(),
            absl::StrCat(path, " is larger than the limit of 5 bytes"));
}

TEST_F(FileUtilTest, ReadFileBoundedWithZeroLimit) {
  const std::string empty = MakeFile("empty", "", 0644);
  absl::StatusOr<std::string> contents = ReadFileBounded(empty, 0);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, "");

  const std::string one = MakeFile("one", "x", 0644);
  EXPECT_EQ(ReadFileBounded(one, 0).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(FileUtilTest, ReadFileBoundedOfAMissingFileIsNotFound) {
  const std::string path = Path("absent");
  absl::StatusOr<std::string> contents = ReadFileBounded(path, 1024);
  ASSERT_FALSE(contents.ok());
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(contents.status().message(), HasSubstr(absl::StrCat("opening ", path)));
}

TEST_F(FileUtilTest, ReadFileBoundedOfADirectoryIsInvalid) {
  absl::StatusOr<std::string> contents = ReadFileBounded(dir_, 1024);
  ASSERT_FALSE(contents.ok());
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(contents.status().message(), absl::StrCat(dir_, " is not a regular file"));
}

TEST_F(FileUtilTest, ReadFileBoundedFollowsSymbolicLinks) {
  const std::string target = MakeFile("target", "via link", 0644);
  const std::string link = Path("link");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0) << std::strerror(errno);
  absl::StatusOr<std::string> contents = ReadFileBounded(link, 1024);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, "via link");
}

class ReadPrivateFileAllowedModeTest : public FileUtilTest,
                                       public ::testing::WithParamInterface<mode_t> {};

TEST_P(ReadPrivateFileAllowedModeTest, ReadsTheSecret) {
  const std::string path = MakeFile("device.key", "private key bytes", GetParam());
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 1024);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->Reveal(), "private key bytes");
}

INSTANTIATE_TEST_SUITE_P(OwnerOnly, ReadPrivateFileAllowedModeTest,
                         ::testing::Values(mode_t{0600}, mode_t{0400}, mode_t{0700}),
                         [](const ::testing::TestParamInfo<mode_t>& info) {
                           return absl::StrFormat("Mode%04o", info.param);
                         });

class ReadPrivateFileExposedModeTest : public FileUtilTest,
                                       public ::testing::WithParamInterface<mode_t> {};

TEST_P(ReadPrivateFileExposedModeTest, FailsAndSaysHowToFixIt) {
  const mode_t mode = GetParam();
  const std::string path = MakeFile("device.key", "private key bytes", mode);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 1024);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(secret.status().message(),
            absl::StrFormat("%s is accessible by group or others (mode %04o); run: chmod 600 %s",
                            path, mode, path));
  EXPECT_THAT(secret.status().message(), HasSubstr("chmod 600"));
  EXPECT_THAT(secret.status().message(), ::testing::Not(HasSubstr("private key bytes")));
}

INSTANTIATE_TEST_SUITE_P(GroupOrOther, ReadPrivateFileExposedModeTest,
                         ::testing::Values(mode_t{0640}, mode_t{0604}, mode_t{0644}, mode_t{0660},
                                           mode_t{0620}, mode_t{0610}, mode_t{0602}, mode_t{0601},
                                           mode_t{0666}, mode_t{0777}),
                         [](const ::testing::TestParamInfo<mode_t>& info) {
                           return absl::StrFormat("Mode%04o", info.param);
                         });

TEST_F(FileUtilTest, ReadPrivateFileRefusesASymbolicLink) {
  const std::string target = MakeFile("device.key", "private key bytes", 0600);
  const std::string link = Path("link.key");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0) << std::strerror(errno);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(link, 1024);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(secret.status().message(),
            absl::StrCat(link, " is a symbolic link; give the path of the file itself"));
  EXPECT_THAT(secret.status().message(), HasSubstr("symbolic link"));
}

TEST_F(FileUtilTest, ReadPrivateFileAcceptsAFileExactlyAtTheLimit) {
  const std::string path = MakeFile("device.key", "0123456789", 0600);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 10);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->Reveal(), "0123456789");
  EXPECT_EQ(secret->size(), 10u);
}

TEST_F(FileUtilTest, ReadPrivateFileRejectsAFileOverTheLimit) {
  const std::string path = MakeFile("device.key", "0123456789a", 0600);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 10);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(secret.status().message(), absl::StrCat(path, " is larger than the limit of 10 bytes"));
}

TEST_F(FileUtilTest, ReadPrivateFileChecksTheModeBeforeTheSize) {
  const std::string path = MakeFile("device.key", "far too long for the limit", 0644);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 4);
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FileUtilTest, ReadPrivateFileOfAnEmptyFileIsAnEmptySecret) {
  const std::string path = MakeFile("device.key", "", 0600);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 0);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_TRUE(secret->empty());
}

TEST_F(FileUtilTest, ReadPrivateFileKeepsBinaryContents) {
  const std::string contents("\x00\xff\x00\x10", 4);
  const std::string path = MakeFile("device.key", contents, 0600);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 64);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->Reveal(), contents);
}

TEST_F(FileUtilTest, ReadPrivateFileOfAMissingFileIsNotFound) {
  const std::string path = Path("absent.key");
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 1024);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(secret.status().message(), HasSubstr(absl::StrCat("opening ", path)));
}

TEST_F(FileUtilTest, ReadPrivateFileOfADirectoryIsInvalid) {
  const std::string path = Path("keys");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0) << std::strerror(errno);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 1024);
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(secret.status().message(), absl::StrCat(path, " is not a regular file"));
}

TEST_F(FileUtilTest, ReadPrivateFileReadsWhatWriteFileAtomicallyWrote) {
  const std::string path = Path("device.key");
  ASSERT_TRUE(WriteFileAtomically(path, "fresh key", 0600, WriteMode::kCreateNew).ok());
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, 64);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->Reveal(), "fresh key");
}

// Regression tests: an overflowing limit, FIFOs and long names.

TEST_F(FileUtilTest, ReadFileBoundedAcceptsTheLargestLimit) {
  const std::string path = MakeFile("config", "hello", 0644);
  absl::StatusOr<std::string> contents = ReadFileBounded(path, std::numeric_limits<size_t>::max());
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, "hello");
}

TEST_F(FileUtilTest, ReadPrivateFileAcceptsTheLargestLimit) {
  const std::string path = MakeFile("device.key", "hello", 0600);
  absl::StatusOr<SecretBytes> secret = ReadPrivateFile(path, std::numeric_limits<size_t>::max());
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->Reveal(), "hello");
}

TEST_F(FileUtilTest, WriteWorksForTheLongestValidNames) {
  const std::string path = Path(std::string(250, 'k'));
  absl::Status status = WriteFileAtomically(path, "x", 0600);
  EXPECT_TRUE(status.ok()) << status;
  // The name itself is valid:
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  if (fd >= 0) ::close(fd);
}

TEST_F(FileUtilTest, ReadFileBoundedOfAFifoDoesNotBlock) {
  const std::string path = Path("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  std::promise<absl::Status> done;
  std::future<absl::Status> result = done.get_future();
  std::thread reader([&] { done.set_value(ReadFileBounded(path, 1024).status()); });
  const bool finished = result.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  if (!finished) {
    // Unblock the reader's open() so the test can end.
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
  }
  reader.join();
  EXPECT_TRUE(finished) << "ReadFileBounded blocked on a FIFO for 2 s";
  absl::Status status = result.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

TEST_F(FileUtilTest, ReadPrivateFileOfAFifoDoesNotBlock) {
  const std::string path = Path("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  std::promise<absl::Status> done;
  std::future<absl::Status> result = done.get_future();
  std::thread reader([&] { done.set_value(ReadPrivateFile(path, 1024).status()); });
  const bool finished = result.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  if (!finished) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
  }
  reader.join();
  EXPECT_TRUE(finished) << "ReadPrivateFile blocked on a FIFO for 2 s";
  absl::Status status = result.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

}  // namespace
}  // namespace custody
