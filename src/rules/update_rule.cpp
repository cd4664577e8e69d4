#include "metaevo/rules/update_rule.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "metaevo/core/error.hpp"
#include "core/text_format.hpp"
#include "rules/blend_rule.hpp"
#include "rules/learned_mlp_rule.hpp"
#include "rules/learned_rnn_rule.hpp"

// Every rule keeps its state in Eigen arrays sized by reset(n); step() is made only of coefficient-wise
// array expressions assigned into existing storage, so it never allocates (this is the inner loop's
// hot path). The effective learning rate at step t is lr_t = learning_rate * schedule.factor(t).

namespace metaevo {

namespace {

using text::format_number;
using text::joined;

// ---------------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------------

/// What every family shares: the base learning rate, its schedule and the size check.
class ScheduledRule : public UpdateRule {
 public:
  ScheduledRule(double learning_rate, LearningRateSchedule schedule)
      : learning_rate_(learning_rate), schedule_(schedule) {}
  using UpdateRule::step;

  void reset(Eigen::Index parameter_count) override {
    parameter_count_ = parameter_count;
    reset_state(parameter_count);
  }

 protected:
  virtual void reset_state(Eigen::Index parameter_count) = 0;

  double learning_rate_at(std::int64_t t) const { return learning_rate_ * schedule_.factor(t); }

  /// A size mismatch is a bug in the caller (a task or the inner loop), never a tuning problem.
  void check_sizes(const Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient) const {
    if (parameters.size() != parameter_count_ || gradient.size() != parameter_count_) {
      throw Error("update rule \"" + std::string(family()) + "\": step() got " +
                  std::to_string(parameters.size()) + " parameters and " + std::to_string(gradient.size()) +
                  " gradient entries after reset(" + std::to_string(parameter_count_) + ")");
    }
  }

 private:
  double learning_rate_;
  LearningRateSchedule schedule_;
  Eigen::Index parameter_count_ = 0;
};

/// sgd:  p <- p - lr_t g
class SgdRule final : public ScheduledRule {
 public:
  using ScheduledRule::ScheduledRule;
  std::string_view family() const override { return "sgd"; }
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const std::int64_t t = context.t;
    check_sizes(parameters, gradient);
    parameters.array() -= learning_rate_at(t) * gradient.array();
  }

 private:
  void reset_state(Eigen::Index) override {}
};

/// momentum (heavy ball), v_0 = 0:
///   v <- mu v + g
///   p <- p - lr_t v
class MomentumRule final : public ScheduledRule {
 public:
  MomentumRule(double learning_rate, LearningRateSchedule schedule, double momentum)
      : ScheduledRule(learning_rate, schedule), momentum_(momentum) {}
  std::string_view family() const override { return "momentum"; }
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const std::int64_t t = context.t;
    check_sizes(parameters, gradient);
    velocity_ = momentum_ * velocity_ + gradient.array();
    parameters.array() -= learning_rate_at(t) * velocity_;
  }

 private:
  void reset_state(Eigen::Index n) override { velocity_.setZero(n); }
  double momentum_;
  Eigen::ArrayXd velocity_;
};

/// nesterov (PyTorch form: look-ahead on the velocity, not on the parameters), v_0 = 0:
///   v <- mu v + g
///   p <- p - lr_t (g + mu v)
class NesterovRule final : public ScheduledRule {
 public:
  NesterovRule(double learning_rate, LearningRateSchedule schedule, double momentum)
      : ScheduledRule(learning_rate, schedule), momentum_(momentum) {}
  std::string_view family() const override { return "nesterov"; }
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const std::int64_t t = context.t;
    check_sizes(parameters, gradient);
    velocity_ = momentum_ * velocity_ + gradient.array();
    parameters.array() -= learning_rate_at(t) * (gradient.array() + momentum_ * velocity_);
  }

 private:
  void reset_state(Eigen::Index n) override { velocity_.setZero(n); }
  double momentum_;
  Eigen::ArrayXd velocity_;
};

/// adam (bias-corrected, epsilon outside the square root), m_0 = v_0 = 0:
///   m <- b1 m + (1 - b1) g
///   v <- b2 v + (1 - b2) g^2
///   p <- p - lr_t (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
class AdamRule : public ScheduledRule {
 public:
  AdamRule(double learning_rate, LearningRateSchedule schedule, double beta1, double beta2, double epsilon)
      : ScheduledRule(learning_rate, schedule), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {}
  std::string_view family() const override { return "adam"; }
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const std::int64_t t = context.t;
    check_sizes(parameters, gradient);
    adam_step(parameters, gradient, t, learning_rate_at(t));
  }

 protected:
  void adam_step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, std::int64_t t,
                 double learning_rate) {
    const auto power = static_cast<double>(std::max<std::int64_t>(t, 1));
    const double first_correction = 1.0 - std::pow(beta1_, power);   // > 0 since b1 < 1, t >= 1
    const double second_correction = 1.0 - std::pow(beta2_, power);
    first_moment_ = beta1_ * first_moment_ + (1.0 - beta1_) * gradient.array();
    second_moment_ = beta2_ * second_moment_ + (1.0 - beta2_) * gradient.array().square();
    parameters.array() -= (learning_rate / first_correction) * first_moment_ /
                          ((second_moment_ * (1.0 / second_correction)).sqrt() + epsilon_);
  }

 private:
  void reset_state(Eigen::Index n) override {
    first_moment_.setZero(n);
    second_moment_.setZero(n);
  }
  double beta1_;
  double beta2_;
  double epsilon_;
  Eigen::ArrayXd first_moment_;
  Eigen::ArrayXd second_moment_;
};

/// adamw (decoupled weight decay, as PyTorch: the decay uses the scheduled rate and the parameters
/// before this step's Adam update):
///   p <- p - lr_t wd p
///   then the adam step above (its moments only see g, never the decay)
class AdamWRule final : public AdamRule {
 public:
  AdamWRule(double learning_rate, LearningRateSchedule schedule, double beta1, double beta2, double epsilon,
            double weight_decay)
      : AdamRule(learning_rate, schedule, beta1, beta2, epsilon), weight_decay_(weight_decay) {}
  std::string_view family() const override { return "adamw"; }
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const std::int64_t t = context.t;
    check_sizes(parameters, gradient);
    const double learning_rate = learning_rate_at(t);
    parameters.array() *= 1.0 - learning_rate * weight_decay_;
    adam_step(parameters, gradient, t, learning_rate);
  }

 private:
  double weight_decay_;
};

/// rmsprop (no bias correction, no momentum, eps outside the square root), s_0 = 0:
///   s <- alpha s + (1 - alpha) g^2
///   p <- p - lr_t g / (sqrt(s) + eps)
class RmspropRule final : public ScheduledRule {
 public:
  RmspropRule(double learning_rate, LearningRateSchedule schedule, double alpha, double epsilon)
      : ScheduledRule(learning_rate, schedule), alpha_(alpha), epsilon_(epsilon) {}
  std::string_view family() const override { return "rmsprop"; }
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const std::int64_t t = context.t;
    check_sizes(parameters, gradient);
    square_average_ = alpha_ * square_average_ + (1.0 - alpha_) * gradient.array().square();
    parameters.array() -= learning_rate_at(t) * gradient.array() / (square_average_.sqrt() + epsilon_);
  }

 private:
  void reset_state(Eigen::Index n) override { square_average_.setZero(n); }
  double alpha_;
  double epsilon_;
  Eigen::ArrayXd square_average_;
};

/// lion (Chen et al. 2023; sign(0) = 0), m_0 = 0:
///   u <- sign(b1 m + (1 - b1) g)
///   p <- p - lr_t (u + wd p)
///   m <- b2 m + (1 - b2) g
class LionRule final : public ScheduledRule {
 public:
  LionRule(double learning_rate, LearningRateSchedule schedule, double beta1, double beta2, double weight_decay)
      : ScheduledRule(learning_rate, schedule), beta1_(beta1), beta2_(beta2), weight_decay_(weight_decay) {}
  std::string_view family() const override { return "lion"; }
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const std::int64_t t = context.t;
    check_sizes(parameters, gradient);
    // Coefficient-wise, so reading p on the right while writing it on the left is safe.
    parameters.array() -= learning_rate_at(t) * ((beta1_ * momentum_ + (1.0 - beta1_) * gradient.array()).sign() +
                                                 weight_decay_ * parameters.array());
    momentum_ = beta2_ * momentum_ + (1.0 - beta2_) * gradient.array();
  }

 private:
  void reset_state(Eigen::Index n) override { momentum_.setZero(n); }
  double beta1_;
  double beta2_;
  double weight_decay_;
  Eigen::ArrayXd momentum_;
};

// ---------------------------------------------------------------------------------------------
// Hyperparameter tables
// ---------------------------------------------------------------------------------------------

HyperparameterInfo learning_rate(double default_value) {
  return real_hyperparameter("learning_rate", default_value, NumericRange::make(0.0, true, 10.0, false),
                             "base step size; the schedule multiplies it at each inner step");
}

HyperparameterInfo unit_open(std::string name, double default_value, std::string description) {
  return real_hyperparameter(std::move(name), default_value, NumericRange::closed_open(0.0, 1.0),
                             std::move(description));
}

HyperparameterInfo epsilon() {
  return real_hyperparameter("epsilon", 1e-8, NumericRange::make(0.0, true, 1.0, false),
                             "added to the root-mean-square denominator for numerical safety");
}

HyperparameterInfo weight_decay(double default_value, std::string description) {
  return real_hyperparameter("weight_decay", default_value, NumericRange::closed(0.0, 1.0), std::move(description));
}

/// The schedule hyperparameters every family shares, appended after the family's own.
std::vector<HyperparameterInfo> schedule_hyperparameters() {
  HyperparameterInfo schedule;
  schedule.name = "schedule";
  schedule.choices = enum_names<ScheduleKind>();
  schedule.default_choice = std::string(to_string(ScheduleKind::constant));
  schedule.description = "learning-rate schedule over the inner loop: constant, cosine or warmup_cosine";
  return {schedule,
          real_hyperparameter("warmup_fraction", 0.1, NumericRange::closed(0.0, 0.99),
                              "warmup_cosine only: fraction of the inner steps spent in linear warmup"),
          real_hyperparameter("final_lr_fraction", 0.0, NumericRange::closed(0.0, 1.0),
                              "cosine schedules: learning rate at the end relative to learning_rate")};
}

double number(const ParameterSet& h, std::string_view name) { return numeric_parameter(h, name); }

UpdateRuleRegistration builtin(std::string name, std::string help, std::vector<HyperparameterInfo> own,
                               std::function<std::unique_ptr<UpdateRule>(const ParameterSet&, LearningRateSchedule)> make) {
  UpdateRuleRegistration registration;
  registration.name = std::move(name);
  registration.help = std::move(help);
  registration.hyperparameters = std::move(own);
  registration.make = [make = std::move(make)](const RuleParameters& p) {
    return make(p.hyperparameters, learning_rate_schedule(p.hyperparameters, p.inner_steps));
  };
  return registration;
}

/// Appends the shared schedule hyperparameters, checks the declaration and adds the family.
void add_rule(Registry<UpdateRuleRegistration>& registry, UpdateRuleRegistration registration) {
  if (!registration.make) {
    throw ConfigError("update rule family \"" + registration.name + "\" is registered without a factory");
  }
  for (HyperparameterInfo& shared : schedule_hyperparameters()) registration.hyperparameters.push_back(std::move(shared));
  for (std::size_t i = 0; i < registration.hyperparameters.size(); ++i) {
    const HyperparameterInfo& info = registration.hyperparameters[i];
    for (std::size_t j = 0; j < i; ++j) {
      if (registration.hyperparameters[j].name == info.name) {
        throw ConfigError("update rule family \"" + registration.name + "\": hyperparameter \"" + info.name +
                          "\" is declared twice (the schedule ones are added for every family)");
      }
    }
  }
  registry.add(std::move(registration));
}

/// The built-in families, in the order listings show them.
void register_builtin_rules(Registry<UpdateRuleRegistration>& registry) {
  using S = LearningRateSchedule;
  add_rule(registry, builtin("sgd", "p <- p - lr_t g", {learning_rate(1e-2)},
                               [](const ParameterSet& h, S s) -> std::unique_ptr<UpdateRule> {
                                 return std::make_unique<SgdRule>(number(h, "learning_rate"), s);
                               }));
  add_rule(registry, builtin("momentum", "heavy ball: v <- mu v + g, p <- p - lr_t v",
                               {learning_rate(1e-2), unit_open("momentum", 0.9, "velocity decay mu: v = mu v + g")},
                               [](const ParameterSet& h, S s) -> std::unique_ptr<UpdateRule> {
                                 return std::make_unique<MomentumRule>(number(h, "learning_rate"), s,
                                                                       number(h, "momentum"));
                               }));
  add_rule(registry, builtin("nesterov", "Nesterov momentum (PyTorch form): p <- p - lr_t (g + mu v)",
                               {learning_rate(1e-2), unit_open("momentum", 0.9, "velocity decay mu; step along g + mu v")},
                               [](const ParameterSet& h, S s) -> std::unique_ptr<UpdateRule> {
                                 return std::make_unique<NesterovRule>(number(h, "learning_rate"), s,
                                                                       number(h, "momentum"));
                               }));
  add_rule(registry, builtin("adam", "Adam with bias correction, epsilon outside the square root",
                               {learning_rate(1e-3), unit_open("beta1", 0.9, "decay of the first-moment (mean) estimate"),
                                unit_open("beta2", 0.999, "decay of the second-moment estimate"), epsilon()},
                               [](const ParameterSet& h, S s) -> std::unique_ptr<UpdateRule> {
                                 return std::make_unique<AdamRule>(number(h, "learning_rate"), s, number(h, "beta1"),
                                                                   number(h, "beta2"), number(h, "epsilon"));
                               }));
  add_rule(registry, builtin("adamw", "Adam with decoupled weight decay (as PyTorch)",
                               {learning_rate(1e-3), unit_open("beta1", 0.9, "decay of the first-moment (mean) estimate"),
                                unit_open("beta2", 0.999, "decay of the second-moment estimate"), epsilon(),
                                weight_decay(1e-2, "decoupled decay: p -= lr wd p before the Adam step")},
                               [](const ParameterSet& h, S s) -> std::unique_ptr<UpdateRule> {
                                 return std::make_unique<AdamWRule>(number(h, "learning_rate"), s, number(h, "beta1"),
                                                                    number(h, "beta2"), number(h, "epsilon"),
                                                                    number(h, "weight_decay"));
                               }));
  add_rule(registry, builtin("rmsprop", "RMSprop without momentum: p <- p - lr_t g / (sqrt(s) + eps)",
                               {learning_rate(1e-2), unit_open("alpha", 0.99, "decay of the mean squared gradient"),
                                epsilon()},
                               [](const ParameterSet& h, S s) -> std::unique_ptr<UpdateRule> {
                                 return std::make_unique<RmspropRule>(number(h, "learning_rate"), s, number(h, "alpha"),
                                                                      number(h, "epsilon"));
                               }));
  add_rule(registry, builtin("lion", "Lion (Chen et al. 2023): sign of an interpolated momentum",
                               {learning_rate(1e-4),
                                unit_open("beta1", 0.9, "interpolation of momentum and gradient inside the sign"),
                                unit_open("beta2", 0.99, "decay of the momentum kept between steps"),
                                weight_decay(0.0, "decoupled decay: p -= lr wd p alongside the sign step")},
                               [](const ParameterSet& h, S s) -> std::unique_ptr<UpdateRule> {
                                 return std::make_unique<LionRule>(number(h, "learning_rate"), s, number(h, "beta1"),
                                                                   number(h, "beta2"), number(h, "weight_decay"));
                               }));
  add_rule(registry, blend_rule_registration());  // src/rules/blend_rule.cpp
  add_rule(registry, learned_mlp_rule_registration());  // src/rules/learned_mlp_rule.cpp
  add_rule(registry, learned_rnn_rule_registration());  // src/rules/learned_rnn_rule.cpp
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

std::string describe_value(const GeneValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) return "the string \"" + v + "\"";
        else if constexpr (std::is_same_v<T, double>) return "the number " + format_number(v);
        else return "the integer " + std::to_string(v);
      },
      value);
}

const UpdateRuleRegistration& find_family(std::string_view family) { return update_rule_registry().find(family); }

/// Checks every given hyperparameter (name, type, range) before anything is built, then fills in
/// the defaults of the ones not given: the result holds every hyperparameter of the family, numbers
/// as double.
ParameterSet resolve(const UpdateRuleRegistration& family, const ParameterSet& given) {
  const std::string where = "update rule \"" + family.name + "\": hyperparameter \"";
  for (const auto& [name, value] : given) {
    const auto info = std::find_if(family.hyperparameters.begin(), family.hyperparameters.end(),
                                   [&name = name](const HyperparameterInfo& h) { return h.name == name; });
    if (info == family.hyperparameters.end()) {
      std::vector<std::string> valid;
      for (const HyperparameterInfo& h : family.hyperparameters) valid.push_back(h.name);
      throw ConfigError("update rule \"" + family.name + "\" has no hyperparameter \"" + name +
                        "\"; valid names: " + joined(valid));
    }
    if (!info->choices.empty()) {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr || std::find(info->choices.begin(), info->choices.end(), *text) == info->choices.end()) {
        throw ConfigError(where + name + "\" must be one of " + joined(info->choices) + ", got " +
                          describe_value(value));
      }
      continue;
    }
    if (std::holds_alternative<std::string>(value))
      throw ConfigError(where + name + "\" must be a number in " + info->range + ", got " + describe_value(value));
    const double number = std::holds_alternative<double>(value) ? std::get<double>(value)
                                                                 : static_cast<double>(std::get<std::int64_t>(value));
    if (!(number >= info->min_value && number <= info->max_value))  // written so NaN fails too
      throw ConfigError(where + name + "\" must be in " + info->range + ", got " + format_number(number));
  }

  ParameterSet resolved;
  for (const HyperparameterInfo& info : family.hyperparameters) {
    const auto found = given.find(info.name);
    if (!info.choices.empty()) {
      resolved[info.name] = found == given.end() ? info.default_choice : std::get<std::string>(found->second);
      continue;
    }
    double number = info.default_value;
    if (found != given.end()) {
      number = std::holds_alternative<double>(found->second)
                   ? std::get<double>(found->second)
                   : static_cast<double>(std::get<std::int64_t>(found->second));
    }
    resolved[info.name] = number;
  }
  return resolved;
}

}  // namespace

HyperparameterInfo real_hyperparameter(std::string name, double default_value, NumericRange range,
                                       std::string description) {
  if (!std::isfinite(range.low) || !std::isfinite(range.high)) {
    throw ConfigError("hyperparameter \"" + name + "\": its range must be bounded, got " + range.describe(false));
  }
  HyperparameterInfo info;
  info.name = std::move(name);
  info.default_value = default_value;
  // Open ends as the nearest inclusive value, so inclusive checks on min/max are exact; "(0" is
  // 1e-300 rather than the smallest subnormal.
  info.min_value = !range.low_open ? range.low : range.low == 0.0 ? 1e-300 : std::nextafter(range.low, range.high);
  info.max_value = !range.high_open ? range.high : std::nextafter(range.high, range.low);
  info.range = range.describe(false).substr(3);  // "in [0, 1)" -> "[0, 1)"
  info.description = std::move(description);
  return info;
}

Registry<UpdateRuleRegistration>& update_rule_registry() {
  static Registry<UpdateRuleRegistration> registry = [] {
    Registry<UpdateRuleRegistration> builtins("update rule family");
    register_builtin_rules(builtins);
    return builtins;
  }();
  return registry;
}

void register_update_rule(UpdateRuleRegistration registration) {
  add_rule(update_rule_registry(), std::move(registration));
}

LearningRateSchedule learning_rate_schedule(const ParameterSet& hyperparameters, std::int64_t inner_steps) {
  LearningRateSchedule schedule;
  const auto kind = hyperparameters.find("schedule");
  if (kind != hyperparameters.end()) {
    const auto* name = std::get_if<std::string>(&kind->second);
    const std::optional<ScheduleKind> parsed = name == nullptr ? std::nullopt : from_string<ScheduleKind>(*name);
    if (!parsed) throw ConfigError("hyperparameter \"schedule\" must be one of " + joined(enum_names<ScheduleKind>()));
    schedule.kind = *parsed;
  }
  schedule.total_steps = inner_steps;
  schedule.warmup_fraction = numeric_parameter(hyperparameters, "warmup_fraction");
  schedule.final_fraction = numeric_parameter(hyperparameters, "final_lr_fraction");
  return schedule;
}

std::vector<std::string> update_rule_families() { return update_rule_registry().names(); }

const std::vector<HyperparameterInfo>& update_rule_hyperparameters(std::string_view family) {
  return find_family(family).hyperparameters;
}

ParameterSet default_hyperparameters(std::string_view family) {
  ParameterSet defaults;
  for (const HyperparameterInfo& info : find_family(family).hyperparameters) {
    if (info.choices.empty()) defaults[info.name] = info.default_value;
    else defaults[info.name] = info.default_choice;
  }
  return defaults;
}

std::vector<GeneBlock> update_rule_gene_blocks(std::string_view family, const Options& architecture) {
  const UpdateRuleRegistration& entry = find_family(family);
  if (!entry.gene_blocks) return {};
  // Resolved again so a config built in code (architecture left empty) gets the defaults.
  return entry.gene_blocks(entry.architecture.resolve(architecture.values(), "update_rule.architecture"));
}

Options update_rule_architecture(std::string_view family, const std::map<std::string, OptionValue, std::less<>>& given) {
  const UpdateRuleRegistration& entry = find_family(family);
  return entry.architecture.resolve(given, "update_rule.architecture");
}

std::vector<Eigen::VectorXd> initial_block_values(const std::vector<GeneBlock>& blocks) {
  std::vector<Eigen::VectorXd> values;
  values.reserve(blocks.size());
  for (const GeneBlock& block : blocks) values.push_back(Eigen::VectorXd::Constant(block.length, block.initial_value));
  return values;
}

std::unique_ptr<UpdateRule> make_update_rule(std::string_view family, RuleParameters parameters) {
  const UpdateRuleRegistration& entry = find_family(family);
  const std::string where = "update rule \"" + entry.name + "\": ";
  if (parameters.inner_steps < 1)
    throw ConfigError(where + "inner_steps must be >= 1, got " + std::to_string(parameters.inner_steps));
  parameters.hyperparameters = resolve(entry, parameters.hyperparameters);
  // The architecture is validated again here: an exported rule or a test may build one by hand.
  parameters.architecture = entry.architecture.resolve(parameters.architecture.values(), "update_rule.architecture");
  const std::vector<GeneBlock> blocks = entry.gene_blocks ? entry.gene_blocks(parameters.architecture)
                                                          : std::vector<GeneBlock>{};
  if (parameters.blocks.empty()) {
    parameters.blocks = initial_block_values(blocks);
  } else if (parameters.blocks.size() != blocks.size()) {
    throw ConfigError(where + "got " + std::to_string(parameters.blocks.size()) + " gene blocks, the family declares " +
                      std::to_string(blocks.size()));
  }
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    if (parameters.blocks[b].size() != blocks[b].length) {
      throw ConfigError(where + "block \"" + blocks[b].name + "\" must have " + std::to_string(blocks[b].length) +
                        " values for this architecture, got " + std::to_string(parameters.blocks[b].size()));
    }
  }
  return entry.make(parameters);
}

std::unique_ptr<UpdateRule> make_update_rule(std::string_view family, const ParameterSet& hyperparameters,
                                             std::int64_t inner_steps) {
  RuleParameters parameters;
  parameters.hyperparameters = hyperparameters;
  parameters.inner_steps = inner_steps;
  return make_update_rule(family, std::move(parameters));
}

}  // namespace metaevo
