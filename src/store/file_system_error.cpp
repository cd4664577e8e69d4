#include "store/file_system_error.hpp"

#include <cerrno>
#include <cstring>

namespace metaevo::file_system {

namespace {

/// "the file system holding 'DIR'" (the directory of `path`), or "the file system" when no path.
std::string holder_of(const std::filesystem::path& path) {
  if (path.empty()) return "the file system";
  const std::filesystem::path directory = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  return "the file system holding '" + directory.string() + "'";
}

}  // namespace

std::string describe_errno(int error_number, const std::filesystem::path& path) {
  switch (error_number) {
    case ENOSPC: return "no space left on device (" + holder_of(path) + " is full)";
    case EDQUOT: return "disk quota exceeded (your quota on " + holder_of(path) + " is used up)";
    case EFBIG: return "file too large (" + holder_of(path) + " does not take a file this large)";
    case EIO: return "input/output error (" + holder_of(path) + " or its device failed; check the disk or the network file system)";
    case EROFS: return "read-only file system (" + holder_of(path) + " is mounted read-only)";
    case EACCES:
    case EPERM:
      return path.empty() ? std::string("permission denied")
                          : "permission denied (this user may not write in '" +
                                (path.parent_path().empty() ? std::string(".") : path.parent_path().string()) + "')";
    default: return std::strerror(error_number);
  }
}

std::optional<int> errno_in_hdf5_stack(std::string_view stack) {
  // The innermost entry comes last in a stack walked downward: take the last errno.
  constexpr std::string_view key = "errno = ";
  const std::size_t at = stack.rfind(key);
  if (at == std::string_view::npos) return std::nullopt;
  int value = 0;
  std::size_t digit = at + key.size();
  if (digit >= stack.size() || stack[digit] < '0' || stack[digit] > '9') return std::nullopt;
  for (; digit < stack.size() && stack[digit] >= '0' && stack[digit] <= '9' && value < 100000; ++digit) {
    value = value * 10 + (stack[digit] - '0');
  }
  return value;
}

std::optional<std::filesystem::path> file_in_hdf5_stack(std::string_view stack) {
  constexpr std::string_view key = "filename = '";
  const std::size_t at = stack.rfind(key);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t end = stack.find('\'', at + key.size());
  if (end == std::string_view::npos) return std::nullopt;
  return std::filesystem::path(std::string(stack.substr(at + key.size(), end - at - key.size())));
}

}  // namespace metaevo::file_system
