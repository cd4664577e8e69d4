// Numeric fault drills (issue 19, item 4; docs/reliability.md, "Faults during a run"): NaN, +inf,
// a huge value (1e300) and an exception, met by every registered task family and every registered
// update rule, one by one. The families and rules are read from the registries when the tests are
// listed, so a new one is drilled without touching this file. The contract each time: no crash, no
// hang, the evaluation ends diverged or failed, with the penalty fitness (finite) and a reason.
#include <gtest/gtest.h>

#include <unistd.h>

#include <Eigen/Core>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/tasks/task.hpp"

namespace metaevo {
namespace {

enum class NumericFault { nan, infinity, huge, exception };
constexpr std::array<NumericFault, 4> all_faults = {NumericFault::nan, NumericFault::infinity, NumericFault::huge,
                                                    NumericFault::exception};
constexpr double penalty = 9.5;
constexpr std::int64_t fault_step = 3;  // the inner step (or gradient call) the fault comes at

std::string name_of(NumericFault fault) {
  switch (fault) {
    case NumericFault::nan: return "nan";
    case NumericFault::infinity: return "inf";
    case NumericFault::huge: return "huge";
    case NumericFault::exception: return "throw";
  }
  return "?";
}

/// The value a fault puts in; huge is finite but its square overflows.
double value_of(NumericFault fault) {
  switch (fault) {
    case NumericFault::nan: return std::numeric_limits<double>::quiet_NaN();
    case NumericFault::infinity: return std::numeric_limits<double>::infinity();
    case NumericFault::huge: return 1e300;
    case NumericFault::exception: break;
  }
  return 0.0;
}

constexpr const char* thrown_message = "the fault drill's exception";

// ----- The task families' side: a rule that puts the fault into the parameters at step k. -------

/// Gradient descent that, at step fault_step, sets every parameter to the fault's value (or throws):
/// the task's next loss and gradient are computed at NaN, inf or 1e300.
class FaultInjectingRule final : public UpdateRule {
 public:
  FaultInjectingRule(NumericFault fault, double learning_rate) : fault_(fault), learning_rate_(learning_rate) {}
  std::string_view family() const override { return "fault_drill"; }
  void reset(Eigen::Index) override {}
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    parameters -= learning_rate_ * gradient;
    if (context.t != fault_step) return;
    if (fault_ == NumericFault::exception) throw std::runtime_error(thrown_message);
    parameters.setConstant(value_of(fault_));
  }

 private:
  NumericFault fault_;
  double learning_rate_;
};

std::string injecting_rule_name(NumericFault fault) { return "fault_drill_" + name_of(fault); }

void register_injecting_rules_once() {
  for (const NumericFault fault : all_faults) {
    if (update_rule_registry().contains(injecting_rule_name(fault))) continue;
    register_update_rule({
        .name = injecting_rule_name(fault),
        .help = "gradient descent that injects " + name_of(fault) + " into the parameters at step 3",
        .hyperparameters = {real_hyperparameter("learning_rate", 0.01, NumericRange::make(0.0, true, 1.0, false),
                                                "step size")},
        .make = [fault](const RuleParameters& p) -> std::unique_ptr<UpdateRule> {
          return std::make_unique<FaultInjectingRule>(fault, numeric_parameter(p.hyperparameters, "learning_rate"));
        },
        .architecture = {},
        .definition = {},
        .gene_blocks = {},
    });
  }
}

std::string drill_config(const std::string& rule, const std::string& task_table) {
  return R"([run]
seed = 11
generations = 1

[ga]
population_size = 4
elite_count = 1

[evaluation]
tasks_per_evaluation = 1
inner_steps = 8
holdout_tasks = 0
penalty_fitness = 9.5

[update_rule]
family = ")" + rule + R"("
[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 0.1 }

[[tasks]]
)" + task_table + "\n";
}

/// A small data file for the dataset family: 40 rows, 3 features, a binary label last.
std::filesystem::path write_small_csv(const std::filesystem::path& path) {
  std::ofstream out(path);
  out << "a,b,c,label\n";
  for (int row = 0; row < 40; ++row) {
    const double a = std::sin(row * 0.7), b = std::cos(row * 1.3), c = 0.1 * (row % 7) - 0.3;
    out << a << "," << b << "," << c << "," << (a + b - c > 0.0 ? 1 : 0) << "\n";
  }
  return path;
}

/// The command family's program for a fault: it prints the value as its loss (JSON has no NaN or
/// inf literal: a program printing one prints invalid JSON or an overflowing number), or fails.
std::string command_table_for(NumericFault fault) {
  std::string script;
  switch (fault) {
    case NumericFault::nan: script = "echo \"{\\\"final_loss\\\": NaN}\""; break;
    case NumericFault::infinity: script = "echo \"{\\\"final_loss\\\": 1e999}\""; break;
    case NumericFault::huge: script = "echo \"{\\\"final_loss\\\": 1e300, \\\"initial_loss\\\": 1.0}\""; break;
    case NumericFault::exception: script = "echo the program failed >&2; exit 3"; break;
  }
  return "command = [\"/bin/sh\", \"-c\", '" + script + "']\ntime_limit_seconds = 20\n";
}

/// A [[tasks]] table for `family`, small: the size keys its schema has are set low; the families
/// that need a resource get one (a data file, a program).
std::string task_table_for(const std::string& family, NumericFault fault, const std::filesystem::path& data_file) {
  const OptionSchema& schema = task_family_registry().find(family).options;
  std::string table = "family = \"" + family + "\"\n";
  if (family == "command") return table + command_table_for(fault);
  if (family == "dataset") table += "path = \"" + data_file.string() + "\"\n";
  if (schema.find("dimension") != nullptr) table += "dimension = 3\n";
  if (schema.find("samples") != nullptr) table += "samples = 16\n";
  if (schema.find("hidden_layers") != nullptr) table += "hidden_layers = [4]\n";
  if (schema.find("classes") != nullptr) table += "classes = 2\n";
  return table;
}

struct FamilyFault {
  std::string family;
  NumericFault fault;
};
void PrintTo(const FamilyFault& drill, std::ostream* out) { *out << drill.family << " x " << name_of(drill.fault); }

std::vector<FamilyFault> every_task_family_and_fault() {
  std::vector<FamilyFault> cases;
  for (const std::string& family : task_family_registry().names()) {
    for (const NumericFault fault : all_faults) cases.push_back({family, fault});
  }
  return cases;
}

/// The contract: diverged or failed, the penalty as fitness, a reason; an exception fails it.
void expect_penalized(const EvaluationResult& result, NumericFault fault, double seconds) {
  EXPECT_TRUE(result.diverged || result.failed) << "neither diverged nor failed; fitness " << result.fitness;
  EXPECT_EQ(result.fitness, penalty) << result.reason;
  EXPECT_TRUE(std::isfinite(result.fitness));
  EXPECT_FALSE(result.reason.empty());
  if (fault == NumericFault::exception) {
    EXPECT_TRUE(result.failed) << result.reason;
  }
  EXPECT_LT(seconds, 30.0) << "the evaluation took too long";
}

class TaskFamilyFaultDrill : public ::testing::TestWithParam<FamilyFault> {};

/// A data file of the test process, removed when the object dies (a parameterized test's name has a
/// '/', so TemporaryPath's per-test names do not fit).
class DataFile {
 public:
  DataFile()
      : path_(std::filesystem::temp_directory_path() /
              ("metaevo_fault_drill_" + std::to_string(::getpid()) + "_data.csv")) {
    write_small_csv(path_);
  }
  ~DataFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  DataFile(const DataFile&) = delete;
  DataFile& operator=(const DataFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST_P(TaskFamilyFaultDrill, AFaultInTheParametersEndsTheEvaluationWithThePenalty) {
  register_injecting_rules_once();
  const FamilyFault drill = GetParam();
  const DataFile data;
  // The command family runs its program, not the rule: the program's output carries the fault.
  const std::string rule = drill.family == "command" ? "sgd" : injecting_rule_name(drill.fault);
  const std::string text = drill_config(rule, task_table_for(drill.family, drill.fault, data.path()));
  const auto start = std::chrono::steady_clock::now();
  const Evaluator evaluator(parse_config(text, "drill.toml"));
  const EvaluationResult result =
      evaluator.evaluate_parameters(evaluator.baseline_rule_parameters(), EvaluationKey{11, 0}, 1);
  expect_penalized(result, drill.fault, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (drill.fault == NumericFault::exception && drill.family != "command") {
    EXPECT_NE(result.reason.find(thrown_message), std::string::npos) << result.reason;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryTaskFamily, TaskFamilyFaultDrill, ::testing::ValuesIn(every_task_family_and_fault()),
                         [](const ::testing::TestParamInfo<FamilyFault>& param_info) {
                           return param_info.param.family + "_" + name_of(param_info.param.fault);
                         });

// ----- The update rules' side: a task whose gradient carries the fault at call k. ---------------

/// 0.5 |x|^2 from x = (1, ..., 1), whose fault_step-th gradient has the fault's value in its first
/// coordinate, with the loss still finite (or whose fault_step-th call throws).
class FaultyGradientTask final : public Task {
 public:
  explicit FaultyGradientTask(NumericFault fault) : fault_(fault) {}
  Eigen::Index dimension() const override { return 4; }
  Eigen::VectorXd initial_parameters() const override { return Eigen::VectorXd::Ones(4); }
  double loss(const Eigen::VectorXd& parameters) const override { return 0.5 * parameters.squaredNorm(); }
  double loss_and_gradient(const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) const override {
    gradient = parameters;
    if (++calls_ == fault_step) {
      if (fault_ == NumericFault::exception) throw std::runtime_error(thrown_message);
      gradient(0) = value_of(fault_);
    }
    return loss(parameters);
  }

 private:
  NumericFault fault_;
  mutable std::int64_t calls_ = 0;
};

class FaultyGradientFamily final : public TaskFamily {
 public:
  explicit FaultyGradientFamily(NumericFault fault) : fault_(fault) {}
  std::string_view name() const override { return "fault_drill_gradient"; }
  std::unique_ptr<Task> sample(std::uint64_t) const override { return std::make_unique<FaultyGradientTask>(fault_); }

 private:
  NumericFault fault_;
};

void register_faulty_gradient_family_once() {
  if (task_family_registry().contains("fault_drill_gradient")) return;
  register_task_family({
      .name = "fault_drill_gradient",
      .help = "0.5 |x|^2 whose third gradient carries a fault",
      .options = {choice_option("fault", "nan", {"nan", "inf", "huge", "throw"}, "what the third gradient carries")},
      .make = [](const Options& options) -> std::unique_ptr<TaskFamily> {
        for (const NumericFault fault : all_faults) {
          if (options.string("fault") == name_of(fault)) return std::make_unique<FaultyGradientFamily>(fault);
        }
        throw ConfigError("fault_drill_gradient: unknown fault " + options.string("fault"));
      },
  });
}

struct RuleFault {
  std::string rule;
  NumericFault fault;
};
void PrintTo(const RuleFault& drill, std::ostream* out) { *out << drill.rule << " x " << name_of(drill.fault); }

/// Every registered rule with every fault (with_exception) or with every value a gradient can carry.
std::vector<RuleFault> every_update_rule_and_fault(bool with_exception) {
  std::vector<RuleFault> cases;
  for (const std::string& rule : update_rule_families()) {
    for (const NumericFault fault : all_faults) {
      if (with_exception || fault != NumericFault::exception) cases.push_back({rule, fault});
    }
  }
  return cases;
}

class UpdateRuleFaultDrill : public ::testing::TestWithParam<RuleFault> {};

TEST_P(UpdateRuleFaultDrill, AFaultInTheGradientEndsTheEvaluationWithThePenalty) {
  register_faulty_gradient_family_once();
  const RuleFault drill = GetParam();
  const std::string text =
      drill_config(drill.rule, "family = \"fault_drill_gradient\"\nfault = \"" + name_of(drill.fault) + "\"\n");
  const auto start = std::chrono::steady_clock::now();
  const Evaluator evaluator(parse_config(text, "drill.toml"));
  const EvaluationResult result =
      evaluator.evaluate_parameters(evaluator.baseline_rule_parameters(), EvaluationKey{11, 0}, 1);
  expect_penalized(result, drill.fault, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (drill.fault == NumericFault::exception) {
    EXPECT_NE(result.reason.find(thrown_message), std::string::npos) << result.reason;
  } else {
    EXPECT_NE(result.reason.find("gradient is not finite"), std::string::npos) << result.reason;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryUpdateRule, UpdateRuleFaultDrill,
                         ::testing::ValuesIn(every_update_rule_and_fault(/*with_exception=*/true)),
                         [](const ::testing::TestParamInfo<RuleFault>& param_info) {
                           return param_info.param.rule + "_" + name_of(param_info.param.fault);
                         });

// The rule itself, fed the faulty gradient directly (the inner loop stops before it would): it may
// throw (the evaluator turns that into a failed evaluation) or step to non-finite parameters (the
// inner loop's next check stops it), but it must not crash or hang.
class UpdateRuleStepFaultDrill : public ::testing::TestWithParam<RuleFault> {};

TEST_P(UpdateRuleStepFaultDrill, TheRuleFedTheFaultyGradientDirectlyNeitherCrashesNorHangs) {
  const RuleFault drill = GetParam();
  const std::unique_ptr<UpdateRule> rule =
      make_update_rule(drill.rule, default_hyperparameters(drill.rule), /*inner_steps=*/8);
  rule->reset(4);
  Eigen::VectorXd parameters = Eigen::VectorXd::Ones(4);
  const std::array<Eigen::Index, 1> tensor_sizes = {4};
  StepContext context;
  context.total_steps = 8;
  context.tensor_sizes = tensor_sizes;
  try {
    for (std::int64_t t = 1; t <= 4; ++t) {
      Eigen::VectorXd gradient = parameters;
      if (t == 2) gradient(0) = value_of(drill.fault);
      context.t = t;
      context.loss = 0.5 * parameters.squaredNorm();
      rule->step(parameters, gradient, context);
    }
  } catch (const std::exception& error) {
    SUCCEED() << "threw: " << error.what();
  }
}

INSTANTIATE_TEST_SUITE_P(EveryUpdateRule, UpdateRuleStepFaultDrill,
                         ::testing::ValuesIn(every_update_rule_and_fault(/*with_exception=*/false)),
                         [](const ::testing::TestParamInfo<RuleFault>& param_info) {
                           return param_info.param.rule + "_" + name_of(param_info.param.fault);
                         });

}  // namespace
}  // namespace metaevo
