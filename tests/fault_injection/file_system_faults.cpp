// File-system faults for one process, without mount: an LD_PRELOAD library that makes the files
// under one directory a full disk or a read-only directory. The drills set it on the metaevo
// command only (tests/fault_drill_storage_test.cpp):
//   METAEVO_FAULT_DIRECTORY  the directory (an absolute path): its files, and those of its subdirectories;
//   METAEVO_FAULT_BYTES      a full disk: the bytes its files may take in all (writes, sendfile,
//                            fallocate), then every further write fails with ENOSPC;
//   METAEVO_FAULT_ERRNO      optional: the errno a write fails with once the budget is spent
//                            (default ENOSPC; e.g. 122 EDQUOT, 27 EFBIG, 5 EIO);
//   METAEVO_FAULT_READ_ONLY  "1": a directory this user may not write in (what chmod a-w does for
//                            anyone but root): opening a file there to write, creating, renaming
//                            or removing fails with EACCES;
//   METAEVO_FAULT_REPORT     optional: a file that receives the bytes written there, at exit (to
//                            size a budget that runs out in the middle of a run).
// Writes are counted per call, not per file offset (an overwrite costs again): a budget is a point
// in the sequence of writes, which is what a drill needs. Descriptors are tracked from open to
// close in this process (not those it inherits). The calls covered are those HDF5 1.10's sec2
// driver (open, pwrite, write, ftruncate, close; `nm -D` of libhdf5), libstdc++'s filesystem
// (open, openat, sendfile, write, rename) and metaevo's durable files use, with their 64-bit and
// vector variants.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/sendfile.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace {

constexpr int max_tracked_descriptor = 1 << 16;

char watched_directory[PATH_MAX];
std::size_t watched_length = 0;
bool read_only = false;
int spent_errno = ENOSPC;  // what a write fails with once the budget is spent
std::atomic<long long> bytes_left{0};
std::atomic<long long> bytes_written{0};
std::atomic<bool> on_disk[max_tracked_descriptor];  // descriptor -> a file under the directory, open to write
const char* report_path = nullptr;

template <class Function>
Function next(const char* name) {
  return reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
}

__attribute__((constructor)) void read_settings() {
  const char* directory = std::getenv("METAEVO_FAULT_DIRECTORY");
  if (directory == nullptr || directory[0] != '/') return;
  std::snprintf(watched_directory, sizeof watched_directory, "%s", directory);
  watched_length = std::strlen(watched_directory);
  while (watched_length > 1 && watched_directory[watched_length - 1] == '/') watched_directory[--watched_length] = '\0';
  const char* bytes = std::getenv("METAEVO_FAULT_BYTES");
  bytes_left = bytes != nullptr ? std::atoll(bytes) : std::numeric_limits<long long>::max();
  if (const char* error_number = std::getenv("METAEVO_FAULT_ERRNO")) spent_errno = std::atoi(error_number);
  const char* read_only_setting = std::getenv("METAEVO_FAULT_READ_ONLY");
  read_only = read_only_setting != nullptr && std::strcmp(read_only_setting, "1") == 0;
  report_path = std::getenv("METAEVO_FAULT_REPORT");
}

__attribute__((destructor)) void write_report() {
  // Only a process that wrote there reports (not a shell or a child that merely started under it).
  if (report_path == nullptr || bytes_written.load() == 0) return;
  if (FILE* report = std::fopen(report_path, "w")) {
    std::fprintf(report, "%lld\n", bytes_written.load());
    std::fclose(report);
  }
}

/// Whether `path` (relative to `directory_descriptor` when not absolute) names a file under the directory.
bool under_watched_directory(int directory_descriptor, const char* path) {
  if (watched_length == 0 || path == nullptr) return false;
  char full[PATH_MAX];
  if (path[0] == '/') {
    std::snprintf(full, sizeof full, "%s", path);
  } else {
    char base[PATH_MAX];
    if (directory_descriptor == AT_FDCWD) {
      if (getcwd(base, sizeof base) == nullptr) return false;
    } else {
      char link[64];
      std::snprintf(link, sizeof link, "/proc/self/fd/%d", directory_descriptor);
      const ssize_t length = readlink(link, base, sizeof base - 1);
      if (length < 0) return false;
      base[length] = '\0';
    }
    const int length = std::snprintf(full, sizeof full, "%s/%s", base, path);
    if (length < 0 || static_cast<std::size_t>(length) >= sizeof full) return false;
  }
  return std::strncmp(full, watched_directory, watched_length) == 0 && full[watched_length] == '/';
}

bool opens_to_write(int flags) { return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0; }

/// True (errno EACCES) when the read-only fault forbids this change under the directory.
bool refused(int directory_descriptor, const char* path) {
  if (!read_only || !under_watched_directory(directory_descriptor, path)) return false;
  errno = EACCES;
  return true;
}

void track(int descriptor, int flags, int directory_descriptor, const char* path) {
  if (descriptor < 0 || descriptor >= max_tracked_descriptor) return;
  const bool writing = (flags & (O_WRONLY | O_RDWR)) != 0;
  on_disk[descriptor] = writing && under_watched_directory(directory_descriptor, path);
}

bool counted(int descriptor) {
  return descriptor >= 0 && descriptor < max_tracked_descriptor && on_disk[descriptor].load();
}

/// How many of `wanted` bytes the disk still takes (taking them), or -1 with errno ENOSPC (or
/// METAEVO_FAULT_ERRNO): the disk is full. A write that does not fit whole is cut short, as a file system cuts it at its last block.
ssize_t reserve(int descriptor, std::size_t wanted) {
  if (!counted(descriptor) || wanted == 0) return static_cast<ssize_t>(wanted);
  long long left = bytes_left.load();
  long long granted = 0;
  do {
    if (left <= 0) {
      errno = spent_errno;
      return -1;
    }
    granted = left < static_cast<long long>(wanted) ? left : static_cast<long long>(wanted);
  } while (!bytes_left.compare_exchange_weak(left, left - granted));
  return static_cast<ssize_t>(granted);
}

/// Gives back what a failed or short call reserved but did not write.
void settle(int descriptor, ssize_t reserved, ssize_t done) {
  if (!counted(descriptor) || reserved <= 0) return;
  const ssize_t used = done < 0 ? 0 : done;
  bytes_left += reserved - used;
  bytes_written += used;
}

mode_t mode_argument(int flags, va_list arguments) {
  const bool takes_mode = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  return takes_mode ? static_cast<mode_t>(va_arg(arguments, int)) : 0;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  const mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (opens_to_write(flags) && refused(AT_FDCWD, path)) return -1;
  static const auto real = next<int (*)(const char*, int, ...)>("open");
  const int descriptor = real(path, flags, mode);
  track(descriptor, flags, AT_FDCWD, path);
  return descriptor;
}

int open64(const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  const mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (opens_to_write(flags) && refused(AT_FDCWD, path)) return -1;
  static const auto real = next<int (*)(const char*, int, ...)>("open64");
  const int descriptor = real(path, flags, mode);
  track(descriptor, flags, AT_FDCWD, path);
  return descriptor;
}

int openat(int directory, const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  const mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (opens_to_write(flags) && refused(directory, path)) return -1;
  static const auto real = next<int (*)(int, const char*, int, ...)>("openat");
  const int descriptor = real(directory, path, flags, mode);
  track(descriptor, flags, directory, path);
  return descriptor;
}

int openat64(int directory, const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  const mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  if (opens_to_write(flags) && refused(directory, path)) return -1;
  static const auto real = next<int (*)(int, const char*, int, ...)>("openat64");
  const int descriptor = real(directory, path, flags, mode);
  track(descriptor, flags, directory, path);
  return descriptor;
}

int creat(const char* path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

int rename(const char* from, const char* to) {
  if (refused(AT_FDCWD, from) || refused(AT_FDCWD, to)) return -1;
  static const auto real = next<int (*)(const char*, const char*)>("rename");
  return real(from, to);
}

int renameat(int from_directory, const char* from, int to_directory, const char* to) {
  if (refused(from_directory, from) || refused(to_directory, to)) return -1;
  static const auto real = next<int (*)(int, const char*, int, const char*)>("renameat");
  return real(from_directory, from, to_directory, to);
}

int renameat2(int from_directory, const char* from, int to_directory, const char* to, unsigned flags) {
  if (refused(from_directory, from) || refused(to_directory, to)) return -1;
  static const auto real = next<int (*)(int, const char*, int, const char*, unsigned)>("renameat2");
  return real(from_directory, from, to_directory, to, flags);
}

int rmdir(const char* path) {
  if (refused(AT_FDCWD, path)) return -1;
  static const auto real = next<int (*)(const char*)>("rmdir");
  return real(path);
}

int unlink(const char* path) {
  if (refused(AT_FDCWD, path)) return -1;
  static const auto real = next<int (*)(const char*)>("unlink");
  return real(path);
}

int unlinkat(int directory, const char* path, int flags) {
  if (refused(directory, path)) return -1;
  static const auto real = next<int (*)(int, const char*, int)>("unlinkat");
  return real(directory, path, flags);
}

int remove(const char* path) {
  if (refused(AT_FDCWD, path)) return -1;
  static const auto real = next<int (*)(const char*)>("remove");
  return real(path);
}

int mkdir(const char* path, mode_t mode) {
  if (refused(AT_FDCWD, path)) return -1;
  static const auto real = next<int (*)(const char*, mode_t)>("mkdir");
  return real(path, mode);
}

int close(int descriptor) {
  static const auto real = next<int (*)(int)>("close");
  if (descriptor >= 0 && descriptor < max_tracked_descriptor) on_disk[descriptor] = false;
  return real(descriptor);
}

ssize_t write(int descriptor, const void* buffer, size_t count) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  const ssize_t granted = reserve(descriptor, count);
  if (granted < 0) return -1;
  const ssize_t done = real(descriptor, buffer, static_cast<size_t>(granted));
  settle(descriptor, granted, done);
  return done;
}

ssize_t pwrite(int descriptor, const void* buffer, size_t count, off_t offset) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  const ssize_t granted = reserve(descriptor, count);
  if (granted < 0) return -1;
  const ssize_t done = real(descriptor, buffer, static_cast<size_t>(granted), offset);
  settle(descriptor, granted, done);
  return done;
}

ssize_t pwrite64(int descriptor, const void* buffer, size_t count, off64_t offset) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  const ssize_t granted = reserve(descriptor, count);
  if (granted < 0) return -1;
  const ssize_t done = real(descriptor, buffer, static_cast<size_t>(granted), offset);
  settle(descriptor, granted, done);
  return done;
}

namespace {

std::size_t total_length(const struct iovec* vectors, int count) {
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) total += vectors[i].iov_len;
  return total;
}

/// Vector writes go whole or not at all: cutting an iovec list short is not worth the code here.
bool vector_fits(int descriptor, std::size_t total, ssize_t& granted) {
  granted = reserve(descriptor, total);
  if (granted < 0) return false;
  if (static_cast<std::size_t>(granted) < total) {
    settle(descriptor, granted, 0);
    errno = spent_errno;
    return false;
  }
  return true;
}

}  // namespace

ssize_t writev(int descriptor, const struct iovec* vectors, int count) {
  static const auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  ssize_t granted = 0;
  if (!vector_fits(descriptor, total_length(vectors, count), granted)) return -1;
  const ssize_t done = real(descriptor, vectors, count);
  settle(descriptor, granted, done);
  return done;
}

ssize_t pwritev(int descriptor, const struct iovec* vectors, int count, off_t offset) {
  static const auto real = next<ssize_t (*)(int, const struct iovec*, int, off_t)>("pwritev");
  ssize_t granted = 0;
  if (!vector_fits(descriptor, total_length(vectors, count), granted)) return -1;
  const ssize_t done = real(descriptor, vectors, count, offset);
  settle(descriptor, granted, done);
  return done;
}

ssize_t sendfile(int out, int in, off_t* offset, size_t count) {
  static const auto real = next<ssize_t (*)(int, int, off_t*, size_t)>("sendfile");
  const ssize_t granted = reserve(out, count);
  if (granted < 0) return -1;
  const ssize_t done = real(out, in, offset, static_cast<size_t>(granted));
  settle(out, granted, done);
  return done;
}

ssize_t sendfile64(int out, int in, off64_t* offset, size_t count) {
  static const auto real = next<ssize_t (*)(int, int, off64_t*, size_t)>("sendfile64");
  const ssize_t granted = reserve(out, count);
  if (granted < 0) return -1;
  const ssize_t done = real(out, in, offset, static_cast<size_t>(granted));
  settle(out, granted, done);
  return done;
}

ssize_t copy_file_range(int in, off64_t* in_offset, int out, off64_t* out_offset, size_t count, unsigned flags) {
  static const auto real = next<ssize_t (*)(int, off64_t*, int, off64_t*, size_t, unsigned)>("copy_file_range");
  const ssize_t granted = reserve(out, count);
  if (granted < 0) return -1;
  const ssize_t done = real(in, in_offset, out, out_offset, static_cast<size_t>(granted), flags);
  settle(out, granted, done);
  return done;
}

namespace {

/// Reserves a whole allocation; false (ENOSPC) when it does not fit.
bool allocation_fits(int descriptor, off_t length, ssize_t& granted) {
  granted = length > 0 ? reserve(descriptor, static_cast<std::size_t>(length)) : 0;
  if (granted < 0) return false;
  if (granted < length) {
    settle(descriptor, granted, 0);
    errno = spent_errno;
    return false;
  }
  return true;
}

}  // namespace

int fallocate(int descriptor, int mode, off_t offset, off_t length) {
  static const auto real = next<int (*)(int, int, off_t, off_t)>("fallocate");
  ssize_t granted = 0;
  if (!allocation_fits(descriptor, length, granted)) return -1;
  const int status = real(descriptor, mode, offset, length);
  settle(descriptor, granted, status == 0 ? granted : 0);
  return status;
}

int posix_fallocate(int descriptor, off_t offset, off_t length) {
  static const auto real = next<int (*)(int, off_t, off_t)>("posix_fallocate");
  ssize_t granted = 0;
  if (!allocation_fits(descriptor, length, granted)) return spent_errno;
  const int status = real(descriptor, offset, length);
  settle(descriptor, granted, status == 0 ? granted : 0);
  return status;
}

}  // extern "C"
