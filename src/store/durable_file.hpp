#pragma once
// Making a finished file durable under its final name: fsync the file, rename it into place, fsync
// the directory (after a power loss the new name must be there too). Internal to the store.
// Failures are StorageErrors naming the file and saying in plain words what went wrong
// (file_system::describe_errno: a full disk says so).
#include <filesystem>

namespace metaevo::durable {

/// fsync a file or a directory; StorageError naming the path when it cannot be opened or synced.
void sync_path(const std::filesystem::path& path, bool directory);

/// The directory holding `path` ("." for a bare file name).
std::filesystem::path directory_of(const std::filesystem::path& path);

/// Copies `from` to `to` (created or truncated, with `from`'s permission bits). On failure `to` is
/// removed, so a full disk leaves no partial copy behind, and the StorageError names the file that
/// could not be written and why.
void copy_whole_file(const std::filesystem::path& from, const std::filesystem::path& to);

/// Renames `from` to `to` (atomic on POSIX); StorageError naming both and why.
void rename_file(const std::filesystem::path& from, const std::filesystem::path& to);

/// fsyncs `staged`, renames it over `target` (atomic on POSIX) and fsyncs the directory.
void replace_with(const std::filesystem::path& staged, const std::filesystem::path& target);

}  // namespace metaevo::durable
