#pragma once
// The JSON Lines log of a run (`metaevo run/resume --log-json FILE`): one JSON object per generation,
// flushed as it is written so `tail -f` follows the run. The schema is in docs/logging.md.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "metaevo/runtime/run.hpp"

namespace metaevo {

/// One record as one line of JSON (no newline). Non-finite numbers are null, and so is
/// validation_fitness when this generation was not validated.
std::string generation_json(const GenerationRecord& record);

class GenerationLog {
 public:
  /// A new log at `path`; an existing file is replaced. StorageError when it cannot be written.
  static GenerationLog create(const std::filesystem::path& path);
  /// The log of a run resumed from a checkpoint after `checkpoint_generations` generations: keeps
  /// the records of the generations before it and drops the rest (those generations run again, and
  /// a line cut short by a kill), so after the resume every generation is in it exactly once. A
  /// missing file is created. StorageError when it cannot be read or written.
  static GenerationLog resume(const std::filesystem::path& path, std::int64_t checkpoint_generations);

  /// Writes the record as one line, then its islands' records (an island run) one line each, and
  /// flushes them. StorageError when the write fails.
  void append(const GenerationRecord& record);

  const std::filesystem::path& path() const { return path_; }

 private:
  GenerationLog(std::filesystem::path path, std::ios::openmode mode);

  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace metaevo
