// Families registered from outside the library (as a plugin would) are usable from a TOML config
// with no other change: parsing, validation messages, evaluation.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <memory>
#include <string>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/evaluation/evaluator.hpp"
#include "metaevo/rules/exported_rule.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/store/run_report.hpp"
#include "metaevo/tasks/task.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ----- A task family the library does not know: 0.5 |x - c|^2 with c drawn per task. -----------

class ShiftedSphereTask final : public Task {
 public:
  ShiftedSphereTask(Eigen::VectorXd centre, Eigen::VectorXd start) : centre_(std::move(centre)), start_(std::move(start)) {}
  Eigen::Index dimension() const override { return centre_.size(); }
  Eigen::VectorXd initial_parameters() const override { return start_; }
  double loss(const Eigen::VectorXd& x) const override { return 0.5 * (x - centre_).squaredNorm(); }
  double loss_and_gradient(const Eigen::VectorXd& x, Eigen::VectorXd& gradient) const override {
    gradient = x - centre_;
    return 0.5 * gradient.squaredNorm();
  }

 private:
  Eigen::VectorXd centre_;
  Eigen::VectorXd start_;
};

class ShiftedSphereFamily final : public TaskFamily {
 public:
  explicit ShiftedSphereFamily(const Options& options)
      : dimension_(options.integer("dimension")), shift_(options.real("shift")) {}
  std::string_view name() const override { return "shifted_sphere"; }
  std::unique_ptr<Task> sample(std::uint64_t seed) const override {
    RandomStream stream(seed);
    Eigen::VectorXd centre(dimension_);
    for (Eigen::Index i = 0; i < centre.size(); ++i) centre(i) = shift_ + stream.normal();
    return std::make_unique<ShiftedSphereTask>(centre, Eigen::VectorXd::Zero(dimension_));
  }

 private:
  std::int64_t dimension_;
  double shift_;
};

void register_shifted_sphere_once() {
  if (task_family_registry().contains("shifted_sphere")) return;
  register_task_family({
      .name = "shifted_sphere",
      .help = "0.5 |x - c|^2, c ~ shift + N(0, I), started at 0",
      .options = {integer_option("dimension", 4, NumericRange::closed(1, 100), "parameters"),
                  real_option("shift", 1.0, NumericRange::closed(-10.0, 10.0), "mean of the centre")},
      .make = [](const Options& options) -> std::unique_ptr<TaskFamily> {
        if (options.integer("dimension") == 13) throw ConfigError("shifted_sphere: dimension must not be 13, got 13");
        return std::make_unique<ShiftedSphereFamily>(options);
      },
  });
}

constexpr const char* sphere_config = R"(
[run]
seed = 3
generations = 2

[ga]
population_size = 4
elite_count = 1
tournament_size = 2

[evaluation]
tasks_per_evaluation = 3
inner_steps = 20
holdout_tasks = 0

[update_rule]
family = "sgd"

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-3, high = 1.0 }

[[tasks]]
family = "shifted_sphere"
weight = 2.0
dimension = 6
shift = 2.5
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

std::string config_error(const std::string& text) {
  try {
    parse_config(text, "sphere.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(TaskFamilyRegistry, ARegisteredFamilyIsUsableFromAConfigEndToEnd) {
  register_shifted_sphere_once();
  const RunConfig config = parse_config(sphere_config, "sphere.toml");
  ASSERT_EQ(config.tasks.size(), 1u);
  EXPECT_EQ(config.tasks[0].family, "shifted_sphere");
  EXPECT_EQ(config.tasks[0].weight, 2.0);
  EXPECT_EQ(config.tasks[0].options.integer("dimension"), 6);
  EXPECT_EQ(config.tasks[0].options.real("shift"), 2.5);

  const Evaluator evaluator(config);
  EXPECT_EQ(evaluator.family_for_slot({3, 0, StreamPurpose::task_sample}, 0, 3).name(), "shifted_sphere");
  const EvaluationResult result =
      evaluator.evaluate_parameters({{"learning_rate", 0.5}}, {3, 0, StreamPurpose::task_sample}, 3);
  EXPECT_FALSE(result.failed) << result.reason;
  EXPECT_FALSE(result.diverged);
  EXPECT_LT(result.fitness, -1.0);  // sgd at 0.5 shrinks the distance to c by 2^20: far below L_0

  // Defaults come from the schema.
  const RunConfig bare = parse_config(with(with(sphere_config, "dimension = 6\n", ""), "shift = 2.5\n", ""));
  EXPECT_EQ(bare.tasks[0].options.integer("dimension"), 4);
  EXPECT_EQ(bare.tasks[0].options.real("shift"), 1.0);
}

TEST(TaskFamilyRegistry, SchemaMessagesNameFileLineKeyRangeAndValue) {
  register_shifted_sphere_once();
  const std::string line = "sphere.toml:" + std::to_string(26) + ": ";
  EXPECT_EQ(config_error(with(sphere_config, "shift = 2.5", "shift = 50")),
            line + "tasks[0].shift must be in [-10, 10], got 50");
  EXPECT_EQ(config_error(with(sphere_config, "shift = 2.5", "shift = \"far\"")),
            line + "tasks[0].shift must be a number, got string \"far\"");
  EXPECT_EQ(config_error(with(sphere_config, "dimension = 6", "dimension = 0")),
            "sphere.toml:25: tasks[0].dimension must be in [1, 100], got 0");
  EXPECT_EQ(config_error(with(sphere_config, "dimension = 6", "dimension = 1.5")),
            "sphere.toml:25: tasks[0].dimension must be an integer, got float 1.5");
  // A check of the factory's own, at the key's line.
  EXPECT_EQ(config_error(with(sphere_config, "dimension = 6", "dimension = 13")),
            "sphere.toml:25: tasks[0].dimension must not be 13, got 13");
  const std::string typo = config_error(with(sphere_config, "shift = 2.5", "shfit = 2.5"));
  EXPECT_TRUE(contains(typo, "sphere.toml:26: unknown key tasks[0].shfit (did you mean shift?)")) << typo;
  EXPECT_TRUE(contains(typo, "family, weight, dimension, shift")) << typo;
  const std::string foreign = config_error(with(sphere_config, "shift = 2.5", "samples = 5"));
  EXPECT_TRUE(contains(foreign, "tasks[0].samples does not apply to family shifted_sphere (only to linear_regression"))
      << foreign;
}

TEST(TaskFamilyRegistry, DuplicateAndUnknownFamilies) {
  register_shifted_sphere_once();
  TaskFamilyRegistration again;
  again.name = "shifted_sphere";
  again.make = [](const Options& options) -> std::unique_ptr<TaskFamily> {
    return std::make_unique<ShiftedSphereFamily>(options);
  };
  try {
    register_task_family(again);
    ADD_FAILURE() << "a second shifted_sphere was accepted";
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), "task family \"shifted_sphere\" is already registered");
  }
  again.name = "quadratic";
  EXPECT_THROW(register_task_family(again), ConfigError);

  const std::string unknown = config_error(with(sphere_config, "\"shifted_sphere\"", "\"shifted_spere\""));
  EXPECT_TRUE(contains(unknown, "sphere.toml:23: tasks[0].family must be one of quadratic, linear_regression,")) << unknown;
  // Other tests may register families of their own (in this process, before or after this one).
  EXPECT_TRUE(contains(unknown, "synthetic, ")) << unknown;
  EXPECT_TRUE(contains(unknown, "shifted_sphere")) << unknown;
  EXPECT_TRUE(contains(unknown, ", got \"shifted_spere\" (did you mean shifted_sphere?)")) << unknown;
  try {
    make_task_family(TaskConfig{.family = "quadratc", .weight = 1.0, .options = {}});
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "unknown task family \"quadratc\" (did you mean quadratic?); known: quadratic, "))
        << error.what();
  }
}

TEST(TaskFamilyRegistry, BuiltInFamiliesAreRegisteredWithTheirSchemas) {
  const auto& registry = task_family_registry();
  for (TaskKind kind : enum_values<TaskKind>()) {
    const TaskFamilyRegistration& family = registry.find(to_string(kind));
    EXPECT_FALSE(family.help.empty());
    ASSERT_NE(family.options.find("initial_scale"), nullptr) << family.name;
    // Every built-in family builds from its schema's defaults alone.
    EXPECT_EQ(make_task_family(TaskConfig{.family = family.name, .weight = 1.0, .options = {}})->name(), family.name);
  }
  EXPECT_EQ(registry.find("quadratic").options.find("dimension")->describe_allowed(), "integer in [1, 2000]");
  EXPECT_EQ(registry.find("logistic_regression").options.find("noise")->describe_allowed(), "number in [0, 0.5)");
}


// ----- An update rule the library does not know: clipped sign descent. -------------------------

class ClippedSignRule final : public UpdateRule {
 public:
  ClippedSignRule(double learning_rate, double clip, LearningRateSchedule schedule)
      : learning_rate_(learning_rate), clip_(clip), schedule_(schedule) {}
  std::string_view family() const override { return "clipped_sign"; }
  void reset(Eigen::Index) override {}
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const double rate = learning_rate_ * schedule_.factor(context.t);
    parameters.array() -= rate * gradient.array().max(-clip_).min(clip_);
  }

 private:
  double learning_rate_;
  double clip_;
  LearningRateSchedule schedule_;
};

void register_clipped_sign_once() {
  if (update_rule_registry().contains("clipped_sign")) return;
  register_update_rule({
      .name = "clipped_sign",
      .help = "p <- p - lr_t clip(g, -c, c)",
      .hyperparameters = {real_hyperparameter("learning_rate", 0.1, NumericRange::make(0.0, true, 10.0, false),
                                              "step size"),
                          real_hyperparameter("clip", 1.0, NumericRange::make(0.0, true, 100.0, false),
                                              "gradient clip c")},
      .make = [](const RuleParameters& p) -> std::unique_ptr<UpdateRule> {
        const ParameterSet& h = p.hyperparameters;
        return std::make_unique<ClippedSignRule>(numeric_parameter(h, "learning_rate"), numeric_parameter(h, "clip"),
                                                 learning_rate_schedule(h, p.inner_steps));
      },
      .architecture = {},
      .definition = {},
      .gene_blocks = {},
  });
}

TEST(UpdateRuleRegistry, ARegisteredRuleIsUsableFromAConfigEndToEnd) {
  register_clipped_sign_once();
  const std::string text = with(with(sphere_config, "family = \"sgd\"", "family = \"clipped_sign\""),
                                "[[tasks]]\nfamily = \"shifted_sphere\"", "[update_rule.fixed]\nclip = 0.5\n\n[[tasks]]\nfamily = \"quadratic\"");
  const std::string config_text = with(text, "shift = 2.5\n", "");
  const RunConfig config = parse_config(config_text, "rule.toml");
  EXPECT_EQ(config.update_rule.family, "clipped_sign");
  EXPECT_EQ(numeric_parameter(config.update_rule.fixed, "clip"), 0.5);

  const Evaluator evaluator(config);
  const ParameterSet baseline = evaluator.baseline_hyperparameters();
  EXPECT_EQ(numeric_parameter(baseline, "clip"), 0.5);
  EXPECT_EQ(numeric_parameter(baseline, "learning_rate"), 0.1);
  EXPECT_EQ(std::get<std::string>(baseline.at("schedule")), "constant");  // the shared schedule ones were added
  const EvaluationResult result = evaluator.evaluate_parameters({{"learning_rate", 0.05}, {"clip", 0.5}},
                                                                {3, 0, StreamPurpose::task_sample}, 3);
  EXPECT_FALSE(result.failed) << result.reason;
  EXPECT_TRUE(std::isfinite(result.fitness));

  // Messages come from the registered hyperparameters, at the key's line.
  try {
    parse_config(with(config_text, "clip = 0.5", "clip = 500"), "rule.toml");
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), "rule.toml:23: update_rule.fixed.clip must be in (0, 100], got 500");
  }
  try {
    parse_config(with(config_text, "clip = 0.5", "clp = 0.5"), "rule.toml");
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "is not a hyperparameter of clipped_sign (did you mean clip?)")) << error.what();
  }
  EXPECT_TRUE(update_rule_gene_blocks("clipped_sign", Options{}).empty());
}

// ----- A rule with a block of real genes sized by its architecture: per-coordinate gains. -------

class GainRule final : public UpdateRule {
 public:
  GainRule(double learning_rate, Eigen::VectorXd gains) : learning_rate_(learning_rate), gains_(std::move(gains)) {}
  std::string_view family() const override { return "gains"; }
  void reset(Eigen::Index) override {}
  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext&) override {
    for (Eigen::Index i = 0; i < parameters.size(); ++i) {
      parameters(i) -= learning_rate_ * gains_(i % gains_.size()) * gradient(i);
    }
  }

 private:
  double learning_rate_;
  Eigen::VectorXd gains_;
};

void register_gain_rule_once() {
  if (update_rule_registry().contains("gains")) return;
  register_update_rule({
      .name = "gains",
      .help = "p_i <- p_i - lr_t gain_(i mod width) g_i",
      .hyperparameters = {real_hyperparameter("learning_rate", 0.1, NumericRange::make(0.0, true, 10.0, false),
                                              "step size")},
      .make = [](const RuleParameters& p) -> std::unique_ptr<UpdateRule> {
        return std::make_unique<GainRule>(numeric_parameter(p.hyperparameters, "learning_rate"), p.blocks.at(0));
      },
      .architecture = {integer_option("width", 4, NumericRange::closed(1, 100), "gains, cycled over the parameters")},
      .definition = "p_i <- p_i - lr gain[i mod width] g_i",
      .gene_blocks = [](const Options& architecture) {
        return std::vector<GeneBlock>{{"gain", architecture.integer("width"), 0.0, 2.0, 1.0, 0.2, "per-coordinate gains"}};
      },
  });
}

TEST(UpdateRuleRegistry, ARuleDeclaresGeneBlocksFromItsArchitectureTable) {
  register_shifted_sphere_once();
  register_gain_rule_once();
  // No [update_rule.genes]: the block alone is what the search tunes.
  const std::string config_text =
      with(with(sphere_config, "family = \"sgd\"", "family = \"gains\""),
           "[update_rule.genes]\nlearning_rate = { kind = \"log_real\", low = 1e-3, high = 1.0 }\n",
           "[update_rule.architecture]\nwidth = 6\n");
  const RunConfig config = parse_config(config_text, "gains.toml");
  EXPECT_EQ(config.update_rule.architecture.integer("width"), 6);
  const SearchSpace space = config.search_space();
  EXPECT_EQ(space.size(), 6);
  EXPECT_EQ(space.scalar_count(), 0);
  ASSERT_EQ(space.blocks().size(), 1u);
  EXPECT_EQ(space.blocks()[0].name, "gain");

  // A genome's block reaches the rule decoded; the baseline runs the blocks' initial values.
  const Evaluator evaluator(config);
  Genome genome;
  genome.x = Eigen::VectorXd::Constant(6, 0.25);  // gain 0.5 everywhere
  const RuleParameters decoded = evaluator.rule_parameters_of(genome);
  ASSERT_EQ(decoded.blocks.size(), 1u);
  EXPECT_EQ(decoded.blocks[0], Eigen::VectorXd::Constant(6, 0.5));
  const RuleParameters baseline = evaluator.baseline_rule_parameters();
  EXPECT_TRUE(baseline.blocks.empty());  // make_update_rule fills in the initial values
  const EvaluationKey key{3, 0, StreamPurpose::task_sample};
  const EvaluationResult half = evaluator.evaluate(genome, key);
  const EvaluationResult initial = evaluator.evaluate_parameters(baseline, key, 3);
  EXPECT_FALSE(half.failed) << half.reason;
  EXPECT_FALSE(initial.failed) << initial.reason;
  EXPECT_GT(half.fitness, initial.fitness);  // half the gain: slower progress on a sphere

  // Wrong block lengths never reach the rule.
  RuleParameters wrong = decoded;
  wrong.blocks[0].resize(5);
  try {
    make_update_rule("gains", wrong);
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()),
              "update rule \"gains\": block \"gain\" must have 6 values for this architecture, got 5");
  }

  // The architecture table is checked against the registered schema at its line.
  try {
    parse_config(with(config_text, "width = 6", "width = 600"), "gains.toml");
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), "gains.toml:20: update_rule.architecture.width must be in [1, 100], got 600");
  }
  try {
    parse_config(with(config_text, "family = \"gains\"", "family = \"sgd\""), "gains.toml");
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "update rule \"sgd\" has no architecture options")) << error.what();
  }

  // Exported with its architecture and block, read back exactly; damaged blocks are refused.
  ExportedUpdateRule exported;
  exported.family = "gains";
  exported.hyperparameters = decoded.hyperparameters;
  exported.architecture = decoded.architecture;
  exported.blocks = {{"gain", decoded.blocks[0]}};
  exported.blocks[0].second(2) = 0.1 + 0.2;  // not a short decimal: must still round-trip exactly
  exported.inner_steps = 20;
  const std::string json = to_json(exported);
  const ExportedUpdateRule loaded = update_rule_from_json(json);
  EXPECT_EQ(loaded.architecture.integer("width"), 6);
  ASSERT_EQ(loaded.blocks.size(), 1u);
  EXPECT_EQ(loaded.blocks[0].first, "gain");
  EXPECT_EQ(loaded.blocks[0].second, exported.blocks[0].second);
  EXPECT_NO_THROW(make_update_rule(loaded));
  const auto rejected = [&json](const std::string& from, const std::string& to) -> std::string {
    std::string text = json;
    const std::size_t at = text.find(from);
    if (at == std::string::npos) return "pattern not found: " + from;
    text.replace(at, from.size(), to);
    try {
      update_rule_from_json(text);
    } catch (const ConfigError& error) {
      return error.what();
    }
    return "accepted";
  };
  EXPECT_TRUE(contains(rejected("\"width\": 6", "\"width\": 5"), "\"blocks.gain\" must be an array of 5 numbers"));
  EXPECT_TRUE(contains(rejected("\"width\": 6", "\"width\": 0"), "architecture: width must be in [1, 100], got 0"));
  EXPECT_TRUE(contains(rejected("\"gain\": [", "\"gain\": [null, "), "\"blocks.gain\" must be an array of 6"));
  EXPECT_TRUE(contains(rejected("\"blocks\"", "\"blocks_\""), "unknown field \"blocks_\""));
  EXPECT_TRUE(contains(rejected("0.5,", "\"x\","), "\"blocks.gain\"[0] must be a finite number"));

  // A whole search runs and stores the block as one dataset.
  testing_support::TemporaryPath output("_gains.h5");
  const RunSummary summary = run_search(config, output.path());
  EXPECT_EQ(testing_support::read_double_dataset(output.path(), "/best/decoded/gain").size(), 6u);
  EXPECT_EQ(summary.best.x.size(), 6);
}

TEST(UpdateRuleRegistry, DuplicateAndUnknownRules) {
  register_clipped_sign_once();
  UpdateRuleRegistration again;
  again.name = "adam";
  again.make = [](const RuleParameters&) -> std::unique_ptr<UpdateRule> { return nullptr; };
  try {
    register_update_rule(again);
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_EQ(std::string(error.what()), "update rule family \"adam\" is already registered");
  }
  again.name = "with_own_schedule";
  again.hyperparameters = {real_hyperparameter("warmup_fraction", 0.1, NumericRange::closed(0.0, 1.0), "")};
  EXPECT_THROW(register_update_rule(again), ConfigError);  // the shared schedule keys are the registry's
  EXPECT_FALSE(update_rule_registry().contains("with_own_schedule"));
  try {
    make_update_rule("clipped_sgn", {}, 10);
    ADD_FAILURE();
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "unknown update rule family \"clipped_sgn\" (did you mean clipped_sign?); "
                                       "known: sgd, momentum, nesterov, adam, adamw, rmsprop, lion"))
        << error.what();
  }
}

TEST(UpdateRuleRegistry, BuiltInRangesAreUnchanged) {
  const auto& adam = update_rule_hyperparameters("adam");
  ASSERT_GE(adam.size(), 4u);
  EXPECT_EQ(adam[0].range, "(0, 10]");
  EXPECT_EQ(adam[0].min_value, 1e-300);
  EXPECT_EQ(adam[1].range, "[0, 1)");
  EXPECT_EQ(adam[1].max_value, std::nextafter(1.0, 0.0));
  EXPECT_TRUE(update_rule_gene_blocks("adam", Options{}).empty());
}

TEST(TaskFamilyRegistry, ListingsComeFromTheRegistries) {
  register_shifted_sphere_once();
  register_clipped_sign_once();
  const std::string listing = describe_registered_families();
  for (const char* expected :
       {"  quadratic: ", "    condition_number    number >= 1 and finite", "  shifted_sphere: 0.5 |x - c|^2",
        "    shift               number in [-10, 10]", "default 1 ", "  clipped_sign: p <- p - lr_t clip(g, -c, c)",
        "    clip                number in (0, 100]", "    schedule            one of constant, cosine, warmup_cosine",
        "    hidden_layers       1 or 2 integers in [1, 10000]", "default [16]"}) {
    EXPECT_TRUE(contains(listing, expected)) << expected << "\n" << listing;
  }
  const RunConfig config = parse_config(sphere_config);
  EXPECT_EQ(describe_task_family(config.tasks[0]), "shifted_sphere (weight 2, dimension 6, shift 2.5)");
}

}  // namespace
}  // namespace metaevo
