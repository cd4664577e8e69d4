#pragma once
// `metaevo evaluate`'s results in the run file: one group, /evaluation (docs/hdf5-schema.md).
#include <cstdint>
#include <filesystem>

#include "metaevo/evaluation/held_out_evaluation.hpp"

namespace metaevo {

/// The /evaluation group's "version" attribute.
inline constexpr std::int64_t evaluation_group_version = 1;

/// Stores `evaluation` as /evaluation of the run file's root, replacing a previous one; nothing else
/// changes. Crash-safe as a run's commit: a fresh root (the run's attributes and groups copied, then
/// the new group) is built in RUN.h5.evaluation.partial, fsynced and renamed over RUN.h5, so a crash
/// leaves either the old or the new root whole.
/// Not for a run that is still running (its next commit would replace the root without the group).
/// Throws StorageError naming the path.
void write_evaluation(const std::filesystem::path& run_file, const HeldOutEvaluation& evaluation);

/// Reads /evaluation back (the summaries too, as stored). StorageError when the run file has none or
/// it is malformed.
HeldOutEvaluation read_evaluation(const std::filesystem::path& run_file);

}  // namespace metaevo
