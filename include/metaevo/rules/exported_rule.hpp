#pragma once
// An evolved update rule outside its run: a self-contained JSON document (`metaevo export`) that
// any program linking metaevo reads back and applies. No HDF5, MPI or Boost here.
#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metaevo/core/options.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/search/search_space.hpp"

namespace metaevo {

/// An update rule that can be rebuilt without the run: the family, every hyperparameter, the
/// architecture and the values of its gene blocks (a learned rule's weights), the inner-loop length
/// its schedule was searched for, plus where it came from.
struct ExportedUpdateRule {
  std::string family;
  ParameterSet hyperparameters;  // full set: family defaults, then fixed values, then decoded genes
  Options architecture;          // every architecture option of the family (empty schema: none)
  /// Each declared block's values (value units), in the family's declaration order.
  std::vector<std::pair<std::string, Eigen::VectorXd>> blocks;
  std::int64_t inner_steps = 0;  // sizes the learning-rate schedule
  std::string definition;        // the family's registered definition (informational)
  // Provenance (informational; "source" in the JSON): -1 / NaN / empty when unknown.
  std::string run_file;
  std::int64_t genome_id = -1;
  std::int64_t generation = -1;
  double fitness = std::numeric_limits<double>::quiet_NaN();
};

/// The JSON document `metaevo export` writes (2-space indented, newline-terminated):
///   {"format": "metaevo-update-rule", "version": 2, "family": "learned_mlp",
///    "hyperparameters": {"learning_rate": 0.0123, "schedule": "cosine", ...},
///    "architecture": {"hidden_sizes": [16], ...}, "blocks": {"weights": [0.1, -0.02, ...], ...},
///    "definition": "how the step is computed ...", "inner_steps": 200,
///    "source": {"run_file": "...", "genome_id": 17, "generation": 2, "fitness": -1.25}}
/// "architecture", "blocks" and "definition" are written only for families that have them.
/// Doubles are written in their shortest form that reads back as the same double; integer-valued
/// hyperparameters stay integers ("7", not "7.0") and doubles stay doubles ("1.0"). A non-finite
/// fitness is written as null.
std::string to_json(const ExportedUpdateRule& rule);

/// Parses and validates such a document, version 1 (no architecture or blocks) or 2: format tag,
/// version, known family, every hyperparameter known to the family, of the right type and in range,
/// the architecture against the family's schema, every declared block present with its declared
/// length and finite values (checked by building the rule), inner_steps >= 1. "source" and
/// "definition" are optional. Throws ConfigError naming the field, what is allowed and what was seen.
ExportedUpdateRule update_rule_from_json(std::string_view json_text);

/// The document of a rule as the evaluator builds it (no provenance): `parameters.hyperparameters`
/// over the family's defaults, blocks named as the family declares them for the architecture (empty
/// blocks: their initial values). What an external task's program receives (docs/external-tasks.md).
ExportedUpdateRule exported_rule(std::string_view family, const RuleParameters& parameters);

/// What make_update_rule builds the exported rule from.
RuleParameters rule_parameters(const ExportedUpdateRule& rule);
/// make_update_rule(rule.family, rule_parameters(rule)).
std::unique_ptr<UpdateRule> make_update_rule(const ExportedUpdateRule& rule);

/// The format tag and version of the JSON document (update_rule_from_json also reads version 1).
inline constexpr std::string_view exported_update_rule_format = "metaevo-update-rule";
inline constexpr std::int64_t exported_update_rule_version = 2;

}  // namespace metaevo
