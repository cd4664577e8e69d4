#pragma once
// Update rules: the inner optimizers a genome encodes. One interface, one class per family.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/core/options.hpp"
#include "metaevo/core/registry.hpp"
#include "metaevo/rules/learning_rate_schedule.hpp"
#include "metaevo/search/search_space.hpp"

namespace metaevo {

/// An inner optimizer with its own state. reset(n) before the first step of an inner loop; step()
/// moves the parameters in place. t counts steps from 1 (bias corrections and schedules use it).
class UpdateRule {
 public:
  virtual ~UpdateRule() = default;
  virtual std::string_view family() const = 0;
  virtual void reset(Eigen::Index parameter_count) = 0;
  virtual void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, std::int64_t t) = 0;
};

/// A hyperparameter an update-rule family accepts, with its default and the range it is valid in.
/// Numeric ones have no choices; the categorical "schedule" has choices and a default_choice.
struct HyperparameterInfo {
  std::string name;
  double default_value = 0.0;
  double min_value = 0.0;  // inclusive
  double max_value = 0.0;  // inclusive
  std::vector<std::string> choices;  // non-empty for categorical hyperparameters
  std::string default_choice;
  std::string description;
  /// The valid interval in interval notation, e.g. "(0, 10]" or "[0, 1)" (empty for categoricals).
  /// Open ends are stored in min_value/max_value as the nearest inclusive value (1e-300 for "(0",
  /// the largest double below 1 for "1)"), so an inclusive check on them is exact.
  std::string range;
};

/// A numeric hyperparameter valid in `range` (which must be bounded): fills min/max (open ends as
/// the nearest inclusive value) and the range text from it.
HyperparameterInfo real_hyperparameter(std::string name, double default_value, NumericRange range,
                                       std::string description);

/// One registered update-rule family (see docs/extending.md).
struct UpdateRuleRegistration {
  std::string name;
  std::string help;
  /// The family's own hyperparameters: what [update_rule.genes] and [update_rule.fixed] may name.
  /// register_update_rule appends the schedule ones every family shares (schedule,
  /// warmup_fraction, final_lr_fraction); "learning_rate" is expected (the schedule scales it).
  std::vector<HyperparameterInfo> hyperparameters;
  /// Builds a rule from every hyperparameter (given or defaulted, already checked against its
  /// range): numbers as double (numeric_parameter(h, name)), categoricals as string; the schedule
  /// is learning_rate_schedule(h, inner_steps). Called once per inner loop, never per step.
  std::function<std::unique_ptr<UpdateRule>(const ParameterSet& hyperparameters, std::int64_t inner_steps)> make;
  /// Optional: the blocks of real genes the rule declares for an architecture (e.g. the weights of
  /// a learned optimizer). No built-in rule declares any; empty function = none.
  std::function<std::vector<GeneBlock>(const Options& architecture)> gene_blocks;
};

/// Every registered update rule; the built-in ones (sgd, momentum, nesterov, adam, adamw, rmsprop,
/// lion, blend) are registered on first use.
Registry<UpdateRuleRegistration>& update_rule_registry();
/// Adds a family (ConfigError if the name is taken or a hyperparameter is declared twice).
void register_update_rule(UpdateRuleRegistration registration);

/// The schedule a resolved hyperparameter set asks for, sized for `inner_steps`.
LearningRateSchedule learning_rate_schedule(const ParameterSet& hyperparameters, std::int64_t inner_steps);

/// The registered family names, in registration order.
std::vector<std::string> update_rule_families();
/// Hyperparameters of a family (including the schedule ones common to all); throws ConfigError for
/// an unknown family.
const std::vector<HyperparameterInfo>& update_rule_hyperparameters(std::string_view family);
/// The family's defaults as a ParameterSet (e.g. Adam's lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8).
ParameterSet default_hyperparameters(std::string_view family);
/// The gene blocks a family declares for an architecture (none unless it registered gene_blocks).
std::vector<GeneBlock> update_rule_gene_blocks(std::string_view family, const Options& architecture);

/// Builds a rule. `hyperparameters` may omit any (the default is used) but must not name an unknown
/// one or hold a value outside its range (ConfigError names it). `inner_steps` sizes the schedule.
std::unique_ptr<UpdateRule> make_update_rule(std::string_view family, const ParameterSet& hyperparameters,
                                             std::int64_t inner_steps);

}  // namespace metaevo
