#pragma once
// Making a finished file durable under its final name: fsync the file, rename it into place, fsync
// the directory (after a power loss the new name must be there too). Internal to the store.
#include <filesystem>

namespace metaevo::durable {

/// fsync a file or a directory; StorageError naming the path when it cannot be opened or synced.
void sync_path(const std::filesystem::path& path, bool directory);

/// The directory holding `path` ("." for a bare file name).
std::filesystem::path directory_of(const std::filesystem::path& path);

/// fsyncs `staged`, renames it over `target` (atomic on POSIX) and fsyncs the directory.
void replace_with(const std::filesystem::path& staged, const std::filesystem::path& target);

}  // namespace metaevo::durable
