#include "store/durable_file.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "metaevo/core/error.hpp"
#include "store/file_system_error.hpp"

namespace metaevo::durable {

namespace {

/// A file descriptor closed when it goes out of scope (a failed copy throws past it).
class Descriptor {
 public:
  explicit Descriptor(int fd) noexcept : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const noexcept { return fd_; }
  /// Closes now; false (errno set) when the close reports an error (NFS reports a full disk there).
  bool close() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

/// Copies the bytes and permission bits; StorageError (without removing `to`) on failure.
void copy_contents(const std::filesystem::path& from, const std::filesystem::path& to) {
  const Descriptor source(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (source.get() < 0) {
    throw StorageError("cannot open '" + from.string() + "' to copy it: " + file_system::describe_errno(errno, from));
  }
  struct stat status {};
  if (::fstat(source.get(), &status) != 0) {
    throw StorageError("cannot stat '" + from.string() + "': " + file_system::describe_errno(errno, from));
  }
  Descriptor target(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, status.st_mode & 07777));
  const auto write_failure = [&to](int error_number) {
    return StorageError("cannot write '" + to.string() + "': " + file_system::describe_errno(error_number, to));
  };
  if (target.get() < 0) throw write_failure(errno);
  // sendfile copies inside the kernel; it may copy less than asked (a full disk: then ENOSPC next).
  off_t offset = 0;
  while (offset < status.st_size) {
    const ssize_t sent = ::sendfile(target.get(), source.get(), &offset, static_cast<std::size_t>(status.st_size - offset));
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) throw write_failure(errno);
    if (sent == 0) {
      throw StorageError("cannot copy '" + from.string() + "' to '" + to.string() + "': '" + from.string() +
                         "' ended early (it changed while being copied)");
    }
  }
  if (!target.close()) throw write_failure(errno);
}

}  // namespace

void sync_path(const std::filesystem::path& path, bool directory) {
  const int descriptor = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (descriptor < 0) {
    throw StorageError("cannot open '" + path.string() + "' to sync it: " + file_system::describe_errno(errno, path));
  }
  const int status = ::fsync(descriptor);
  const int saved_errno = errno;
  ::close(descriptor);
  if (status != 0) {
    throw StorageError("fsync of '" + path.string() + "' failed: " + file_system::describe_errno(saved_errno, path));
  }
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
}

void copy_whole_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  try {
    copy_contents(from, to);
  } catch (const StorageError&) {
    std::error_code ignored;
    std::filesystem::remove(to, ignored);
    throw;
  }
}

void rename_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw StorageError("cannot rename '" + from.string() + "' to '" + to.string() +
                       "': " + file_system::describe_errno(errno, to));
  }
}

void replace_with(const std::filesystem::path& staged, const std::filesystem::path& target) {
  sync_path(staged, false);
  rename_file(staged, target);
  sync_path(directory_of(target), true);
}

}  // namespace metaevo::durable
