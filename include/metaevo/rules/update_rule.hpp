#pragma once
// Update rules: the inner optimizers a genome encodes. One interface, one class per family.
#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/core/options.hpp"
#include "metaevo/core/registry.hpp"
#include "metaevo/rules/learning_rate_schedule.hpp"
#include "metaevo/search/search_space.hpp"

namespace metaevo {

/// What a rule may look at besides the gradient at one inner step.
struct StepContext {
  std::int64_t t = 1;            // this step, counted from 1 (bias corrections and schedules use it)
  std::int64_t total_steps = 0;  // T, the inner loop's length (0 when unknown)
  /// The loss at the current parameters, the one the gradient was taken at (NaN when unknown; with
  /// minibatches it is the minibatch's loss).
  double loss = std::numeric_limits<double>::quiet_NaN();
  /// Sizes of the task's tensors (e.g. each layer's weights, then its biases) in parameter order,
  /// summing to the parameter count; empty = one tensor. Learned rules normalize their inputs per
  /// tensor.
  std::span<const Eigen::Index> tensor_sizes;

  /// Training progress t / T in (0, 1] (0 when T is unknown).
  double progress() const { return total_steps > 0 ? static_cast<double>(t) / static_cast<double>(total_steps) : 0.0; }
};

/// An inner optimizer with its own state. reset(n) before the first step of an inner loop; step()
/// moves the parameters in place.
class UpdateRule {
 public:
  virtual ~UpdateRule() = default;
  virtual std::string_view family() const = 0;
  virtual void reset(Eigen::Index parameter_count) = 0;
  virtual void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) = 0;
  /// Step t with nothing else known (no loss, no T, one tensor): for tests and hand-written loops.
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, std::int64_t t) {
    StepContext context;
    context.t = t;
    step(parameters, gradient, context);
  }
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

/// What a rule is built from: every hyperparameter (given or defaulted, checked against its range),
/// the values of the blocks the family declared (in declaration order, in value units, not
/// normalized), the architecture options they were declared for, and the inner-loop length.
struct RuleParameters {
  ParameterSet hyperparameters;
  std::vector<Eigen::VectorXd> blocks;
  Options architecture;
  std::int64_t inner_steps = 0;
};

/// One registered update-rule family (see docs/extending.md).
struct UpdateRuleRegistration {
  std::string name;
  std::string help;
  /// The family's own hyperparameters: what [update_rule.genes] and [update_rule.fixed] may name.
  /// register_update_rule appends the schedule ones every family shares (schedule,
  /// warmup_fraction, final_lr_fraction); "learning_rate" is expected (the schedule scales it).
  std::vector<HyperparameterInfo> hyperparameters;
  /// Builds a rule: numbers as double (numeric_parameter(h, name)), categoricals as string; the
  /// schedule is learning_rate_schedule(h, inner_steps); blocks as gene_blocks declared them for
  /// `architecture` (each of its declared length). Called once per evaluation (the rule then
  /// serves each of its tasks after a reset), never per step.
  std::function<std::unique_ptr<UpdateRule>(const RuleParameters& parameters)> make;
  /// What [update_rule.architecture] may set (e.g. hidden sizes); empty = no such table.
  OptionSchema architecture;
  /// Optional: how the step is computed from the genes, precisely enough to apply an exported rule
  /// elsewhere (inputs, their order and normalization, the network, the output). Written into
  /// exported rules; for a hand-written family `help` says it.
  std::string definition;
  /// Optional: the blocks of real genes the rule declares for an architecture (e.g. the weights of
  /// a learned optimizer); always searched, in this order. Empty function = none.
  std::function<std::vector<GeneBlock>(const Options& architecture)> gene_blocks;
};

/// Every registered update rule; the built-in ones (sgd, momentum, nesterov, adam, adamw, rmsprop,
/// lion, blend, learned_mlp, learned_rnn) are registered on first use.
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
/// The family's architecture schema resolved with `given` (defaults filled in; ConfigError when a
/// value is out of range or the family has no such key).
Options update_rule_architecture(std::string_view family,
                                 const std::map<std::string, OptionValue, std::less<>>& given = {});

/// Builds a rule. `parameters.hyperparameters` may omit any (the default is used) but must not name
/// an unknown one or hold a value outside its range (ConfigError names it); `blocks` must match the
/// family's declared blocks for `architecture` in number and lengths, or be empty: then every block
/// is at its initial_value (the family's documented starting point).
std::unique_ptr<UpdateRule> make_update_rule(std::string_view family, RuleParameters parameters);
/// The same for a family without blocks, or with its blocks at their initial values and the
/// default architecture.
std::unique_ptr<UpdateRule> make_update_rule(std::string_view family, const ParameterSet& hyperparameters,
                                             std::int64_t inner_steps);

/// Each block at its initial_value: where a search starts and what a baseline runs.
std::vector<Eigen::VectorXd> initial_block_values(const std::vector<GeneBlock>& blocks);

}  // namespace metaevo
