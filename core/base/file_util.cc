#include "core/base/file_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/status.h"

namespace custody {
namespace {

absl::Status ErrnoError(int err, absl::string_view step, absl::string_view path) {
  return absl::ErrnoToStatus(err, absl::StrCat(step, " ", path));
}

// Closes a file descriptor on scope exit.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the error, for writes whose close must succeed.
  int Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd);
  }

 private:
  int fd_;
};

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, absl::string_view contents, const std::string& path) {
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "writing", path);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FsyncDirectory(const std::string& dir) {
  ScopedFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "opening directory", dir);
  if (::fsync(fd.get()) != 0) return ErrnoError(errno, "syncing directory", dir);
  return absl::OkStatus();
}

// Reads a whole regular file whose size fstat reported as `expected`, into `out`
// (a buffer of expected + 1 bytes), returning how many bytes were read. The extra
// byte detects a file that grew after fstat.
absl::StatusOr<size_t> ReadExpected(int fd, const std::string& path, size_t expected,
                                    uint8_t* out) {
  size_t done = 0;
  while (done <= expected) {
    const ssize_t n = ::read(fd, out + done, expected + 1 - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "reading", path);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  if (done != expected) {
    return absl::UnavailableError(absl::StrCat(path, " changed while it was being read; retry"));
  }
  return done;
}

// The size of an open regular file, checked against the caller's limit.
absl::StatusOr<size_t> SizeWithinLimit(const struct stat& st, const std::string& path,
                                       size_t max_size) {
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_size) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, " is larger than the limit of ", max_size, " bytes"));
  }
  return static_cast<size_t>(size);
}

absl::StatusOr<int> OpenRegularFile(const std::string& path, int extra_flags, struct stat* st) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer. It has no effect on the
  // regular files we go on to read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | extra_flags);
  if (fd < 0) {
    if (errno == ELOOP && (extra_flags & O_NOFOLLOW) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is a symbolic link; give the path of the file itself"));
    }
    return ErrnoError(errno, "opening", path);
  }
  if (::fstat(fd, st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError(err, "inspecting", path);
  }
  if (!S_ISREG(st->st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  return fd;
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 WriteMode write_mode, WriteStepHook hook) {
  auto step = [hook](const char* name) {
    if (hook != nullptr) hook(name);
  };
  if (path.empty()) return absl::InvalidArgumentError("empty file path");
  const std::string dir = DirectoryOf(path);
  // A short hidden name in the same directory, so that any valid target name works.
  std::string temp_path = (dir == "/" ? "" : dir) + "/.custody-tmp.XXXXXX";
  std::vector<char> temp(temp_path.begin(), temp_path.end());
  temp.push_back('\0');
  ScopedFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "creating a temporary file beside", path);
  temp_path.assign(temp.data());
  step("created");

  absl::Status status = [&]() -> absl::Status {
    if (::fchmod(fd.get(), mode) != 0) return ErrnoError(errno, "setting the mode of", temp_path);
    CUSTODY_RETURN_IF_ERROR(WriteAll(fd.get(), contents, temp_path));
    step("written");
    if (::fsync(fd.get()) != 0) return ErrnoError(errno, "syncing", temp_path);
    step("synced");
    if (fd.Close() != 0) return ErrnoError(errno, "closing", temp_path);
    if (write_mode == WriteMode::kCreateNew) {
      // link() fails with EEXIST instead of replacing: an atomic create-if-absent.
      if (::link(temp_path.c_str(), path.c_str()) != 0) {
        if (errno == EEXIST) {
          return absl::AlreadyExistsError(
              absl::StrCat(path, " already exists; refusing to overwrite it"));
        }
        return ErrnoError(errno, "creating", path);
      }
      ::unlink(temp_path.c_str());
    } else if (::rename(temp_path.c_str(), path.c_str()) != 0) {
      return ErrnoError(errno, "replacing", path);
    }
    step("replaced");
    CUSTODY_RETURN_IF_ERROR(FsyncDirectory(dir));
    step("directory_synced");
    return absl::OkStatus();
  }();
  if (!status.ok()) ::unlink(temp_path.c_str());
  return status;
}

absl::StatusOr<int> RemoveStaleTemporaryFiles(const std::string& dir, absl::Time modified_before) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return ErrnoError(errno, "listing", dir);
  int removed = 0;
  while (struct dirent* entry = ::readdir(handle)) {
    const std::string name = entry->d_name;
    if (name.rfind(".custody-tmp.", 0) != 0) continue;
    const std::string path = dir + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        absl::TimeFromTimespec(st.st_mtim) >= modified_before) {
      continue;
    }
    if (::unlink(path.c_str()) == 0) ++removed;
  }
  ::closedir(handle);
  return removed;
}

absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t max_size) {
  struct stat st;
  CUSTODY_ASSIGN_OR_RETURN(int raw_fd, OpenRegularFile(path, 0, &st));
  ScopedFd fd(raw_fd);
  CUSTODY_ASSIGN_OR_RETURN(size_t size, SizeWithinLimit(st, path, max_size));
  std::string out(size + 1, '\0');
  CUSTODY_ASSIGN_OR_RETURN(
      size_t n, ReadExpected(fd.get(), path, size, reinterpret_cast<uint8_t*>(out.data())));
  out.resize(n);
  return out;
}

absl::StatusOr<SecretBytes> ReadPrivateFile(const std::string& path, size_t max_size) {
  struct stat st;
  CUSTODY_ASSIGN_OR_RETURN(int raw_fd, OpenRegularFile(path, O_NOFOLLOW, &st));
  ScopedFd fd(raw_fd);
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is accessible by group or others (mode %04o); run: chmod 600 %s", path,
                        st.st_mode & 07777, path));
  }
  CUSTODY_ASSIGN_OR_RETURN(size_t size, SizeWithinLimit(st, path, max_size));
  SecretBytes buffer(size + 1);
  CUSTODY_ASSIGN_OR_RETURN(size_t n, ReadExpected(fd.get(), path, size, buffer.mutable_data()));
  return SecretBytes::CopyFrom(buffer.span().subspan(0, n));
}

}  // namespace custody
