#include "store/durable_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "metaevo/core/error.hpp"

namespace metaevo::durable {

void sync_path(const std::filesystem::path& path, bool directory) {
  const int descriptor = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (descriptor < 0) throw StorageError("cannot open '" + path.string() + "' to sync it: " + std::strerror(errno));
  const int status = ::fsync(descriptor);
  const int saved_errno = errno;
  ::close(descriptor);
  if (status != 0) throw StorageError("fsync of '" + path.string() + "' failed: " + std::strerror(saved_errno));
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
}

void replace_with(const std::filesystem::path& staged, const std::filesystem::path& target) {
  sync_path(staged, false);
  std::error_code error;
  std::filesystem::rename(staged, target, error);
  if (error) {
    throw StorageError("cannot rename '" + staged.string() + "' to '" + target.string() + "': " + error.message());
  }
  sync_path(directory_of(target), true);
}

}  // namespace metaevo::durable
