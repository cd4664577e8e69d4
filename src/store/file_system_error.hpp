#pragma once
// What a failed write, sync or rename means, in words a user can act on: "no space left on device
// (the file system holding '/scratch/runs' is full)" rather than the C library's bare strerror, or
// libstdc++'s "Input/output error" for a copy cut short. Internal to the store.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace metaevo::file_system {

/// The error as a user should read it, for a file at `path` (empty: no file known). ENOSPC,
/// EDQUOT, EFBIG, EIO, EROFS and EACCES/EPERM say what is wrong with the file system holding it;
/// any other errno is strerror's text.
std::string describe_errno(int error_number, const std::filesystem::path& path);

/// The errno an HDF5 error stack recorded ("..., errno = 28, error message = '...'", as its sec2
/// file driver writes it), the innermost one; none when the stack has none.
std::optional<int> errno_in_hdf5_stack(std::string_view stack);

/// The file an HDF5 error stack names ("filename = '...'"), if any.
std::optional<std::filesystem::path> file_in_hdf5_stack(std::string_view stack);

}  // namespace metaevo::file_system
