#pragma once
// Reading a finished (or interrupted) run back: a readable summary for `metaevo inspect`, and the
// best genome as a self-contained JSON update rule for `metaevo export` that the library loads again.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "metaevo/search/search_space.hpp"
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

/// An update rule that can be rebuilt without the run: the family, every hyperparameter and the
/// inner-loop length its schedule was searched for, plus where it came from.
struct ExportedUpdateRule {
  std::string family;
  ParameterSet hyperparameters;  // full set: family defaults, then fixed values, then decoded genes
  std::int64_t inner_steps = 0;  // sizes the learning-rate schedule
  // Provenance (informational; "source" in the JSON): -1 / NaN / empty when unknown.
  std::string run_file;
  std::int64_t genome_id = -1;
  std::int64_t generation = -1;
  double fitness = std::numeric_limits<double>::quiet_NaN();
};

/// The best genome of a run file, decoded with Evaluator::hyperparameters_of. Throws StorageError
/// when the file cannot be read, holds no best genome yet, or its stored config does not parse.
ExportedUpdateRule best_update_rule(const std::filesystem::path& run_file);

/// The JSON document `metaevo export` writes (2-space indented, newline-terminated):
///   {"format": "metaevo-update-rule", "version": 1, "family": "adam",
///    "hyperparameters": {"learning_rate": 0.0123, "schedule": "cosine", ...}, "inner_steps": 200,
///    "source": {"run_file": "...", "genome_id": 17, "generation": 2, "fitness": -1.25}}
/// Doubles are written in their shortest form that reads back as the same double; integer-valued
/// hyperparameters stay integers ("7", not "7.0") and doubles stay doubles ("1.0"). A non-finite
/// fitness is written as null.
std::string to_json(const ExportedUpdateRule& rule);

/// Parses and validates such a document: format tag, version, known family, every hyperparameter
/// known to the family, of the right type and in range (checked by building the rule), inner_steps
/// >= 1. "source" is optional. Throws ConfigError naming the field, what is allowed and what was seen.
ExportedUpdateRule update_rule_from_json(std::string_view json_text);

/// make_update_rule(rule.family, rule.hyperparameters, rule.inner_steps).
std::unique_ptr<UpdateRule> make_update_rule(const ExportedUpdateRule& rule);

/// The format tag and version of the JSON document.
inline constexpr std::string_view exported_update_rule_format = "metaevo-update-rule";
inline constexpr std::int64_t exported_update_rule_version = 1;

}  // namespace metaevo
