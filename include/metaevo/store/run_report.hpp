#pragma once
// Reading a finished (or interrupted) run back: a readable summary for `metaevo inspect`, and the
// best genome as a self-contained JSON update rule for `metaevo export` that the library loads again.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "metaevo/config/config.hpp"
#include "metaevo/search/search_space.hpp"
#include "metaevo/rules/exported_rule.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/tasks/task.hpp"

namespace metaevo {

/// Multi-line summary of a run file: config (family, seed, mode, sizes, task mix, genes), progress
/// (generations stored / configured), the best genome with its decoded hyperparameters, and fitness
/// per generation (best, median, worst; long runs show the first and the last generations).
/// Throws StorageError with a one-line reason for a missing, non-HDF5, corrupt or unreadable file.
std::string inspect_run(const std::filesystem::path& run_file);

/// One [[tasks]] table as inspect and check show it, every option in its family's schema order:
/// "quadratic (weight 2, dimension 20, condition_number 100, initial_scale 1)".
std::string describe_task_family(const TaskConfig& task);

/// Every registered task family and update rule, read from the registries: name, help, and each
/// option or hyperparameter with its type and allowed values, default and help (`metaevo families`).
std::string describe_registered_families();

/// The best genome of a run file, decoded with Evaluator::hyperparameters_of. Throws StorageError
/// when the file cannot be read, holds no best genome yet, or its stored config does not parse.
ExportedUpdateRule best_update_rule(const std::filesystem::path& run_file);

/// The config a run ran with: its stored TOML with the effective seed and generations (after the
/// command line's --seed/--generations). StorageError as best_update_rule when it cannot be read.
RunConfig stored_run_config(const std::filesystem::path& run_file);

}  // namespace metaevo
