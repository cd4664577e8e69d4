// The learned_mlp update rule: its batched step against the documented one written plainly per
// coordinate, the documented initialization (genes at 0 = Adam, step for step; it trains), per-tensor
// normalization, NaN and huge weights ending an inner loop as diverged, no allocation per step, the
// weight counts, and its config: parsed without [update_rule.genes], checked, searched by OpenAI-ES.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "allocation_counter.hpp"
#include "learned_rule_test_support.hpp"
#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/evaluation/inner_loop.hpp"
#include "metaevo/rules/exported_rule.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/runtime/run.hpp"
#include "metaevo/tasks/task.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::Architecture;
using testing_support::documented_base;
using testing_support::make_learned_rule;
using testing_support::patterned_blocks;
using testing_support::plain_forward;
using testing_support::plain_layer;
using testing_support::PlainLayer;
using testing_support::random_blocks;
using testing_support::ReferenceLearnedRule;
using testing_support::relative_difference;
using testing_support::run_command;
using testing_support::TemporaryPath;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

Eigen::VectorXd vec(std::initializer_list<double> values) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double x : values) v(i++) = x;
  return v;
}

std::int64_t weight_count(const std::string& family, const Architecture& architecture) {
  std::int64_t total = 0;
  for (const GeneBlock& block : update_rule_gene_blocks(family, update_rule_architecture(family, architecture))) {
    total += block.length;
  }
  return total;
}

std::unique_ptr<Task> sample_task(TaskKind kind, std::uint64_t seed) {
  TaskFamilySpec spec;
  spec.kind = kind;
  spec.dimension = kind == TaskKind::quadratic ? 10 : 4;
  spec.condition_number = 10.0;
  spec.samples = 32;
  spec.hidden_layers = {8};
  return make_task_family(spec)->sample(seed);
}

// ---------------------------------------------------------------------------------------------
// The step
// ---------------------------------------------------------------------------------------------

TEST(LearnedMlpRule, BatchedStepMatchesAPlainPerCoordinateReference) {
  for (const std::vector<std::int64_t>& hidden : {std::vector<std::int64_t>{2}, std::vector<std::int64_t>{2, 3}}) {
    SCOPED_TRACE(hidden.size() == 1 ? "hidden [2]" : "hidden [2, 3]");
    const Architecture architecture = {{"hidden_sizes", hidden}, {"init_seed", std::int64_t{7}}};
    const std::vector<Eigen::VectorXd> blocks = patterned_blocks("learned_mlp", architecture);
    ReferenceLearnedRule::Settings s;
    s.learning_rate = 0.05;
    s.adam_weight = 0.7;
    s.scale = 0.4;
    s.alpha = 0.8;
    const ParameterSet h = {{"learning_rate", s.learning_rate},
                            {"adam_weight", s.adam_weight},
                            {"scale", s.scale},
                            {"alpha", s.alpha},
                            {"epsilon", s.epsilon}};
    auto rule = make_learned_rule("learned_mlp", h, architecture, blocks, 10);

    // The documented network, read from the same blocks: W row by row plus the base, then b.
    std::vector<int> widths = {13};
    for (const std::int64_t w : hidden) widths.push_back(static_cast<int>(w));
    widths.push_back(2);
    std::vector<PlainLayer> layers;
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
      const bool readout = l + 2 == widths.size();
      layers.push_back(plain_layer(
          blocks[l], widths[l], widths[l + 1],
          readout ? testing_support::PlainMatrix{} : documented_base(7, 1, l, widths[l], widths[l + 1], 1.0)));
    }

    // Two tensors of 3 and 2 coordinates; three steps with their own gradients and losses.
    const std::vector<Eigen::Index> tensors = {3, 2};
    const std::vector<Eigen::VectorXd> gradients = {vec({0.3, -1.2, 0.05, 2.0, -0.4}), vec({0.1, -0.8, 0.2, 1.5, 0.3}),
                                                    vec({-0.2, -0.5, 0.1, 0.9, 0.6})};
    const std::vector<double> losses = {2.0, 1.5, 1.7};
    Eigen::VectorXd p = vec({0.5, -0.25, 1.0, 0.0, 0.75});
    Eigen::VectorXd expected = p;
    ReferenceLearnedRule reference(5);
    rule->reset(5);
    for (std::size_t k = 0; k < gradients.size(); ++k) {
      StepContext context;
      context.t = static_cast<std::int64_t>(k + 1);
      context.total_steps = 10;
      context.loss = losses[k];
      context.tensor_sizes = tensors;
      const auto inputs = reference.inputs(expected, gradients[k], context.t, 10, losses[k], tensors, s.epsilon);
      std::vector<std::vector<double>> outputs;
      for (const auto& x : inputs) {
        std::vector<double> a = x;
        for (std::size_t l = 0; l < layers.size(); ++l) a = plain_forward(layers[l], a, l + 1 == layers.size());
        outputs.push_back(a);
      }
      reference.step(expected, outputs, s);
      rule->step(p, gradients[k], context);
      EXPECT_LT(relative_difference(p, expected), 1e-12) << "step " << k + 1 << "\n" << p << "\n" << expected;

      // The network's term is a real part of the step (Adam's is at most 1), not a rounding error.
      double network_term = 0.0;
      for (const auto& o : outputs) network_term = std::max(network_term, std::abs(o[0] * std::exp(s.alpha * o[1])));
      EXPECT_GT(network_term, 0.05);
    }
  }
}

TEST(LearnedMlpRule, GenesAtZeroAreAdamStepForStep) {
  const std::int64_t steps = 60;
  const ParameterSet schedule = {{"learning_rate", 0.02},
                                 {"schedule", std::string("warmup_cosine")},
                                 {"warmup_fraction", 0.2},
                                 {"final_lr_fraction", 0.1}};
  ParameterSet adam_h = schedule;
  adam_h["beta1"] = 0.9;
  adam_h["beta2"] = 0.999;
  adam_h["epsilon"] = 1e-8;
  const auto task = sample_task(TaskKind::mlp_classification, 5);
  const std::vector<Eigen::Index> tensors = task->tensor_sizes();
  ASSERT_GT(tensors.size(), 1u);
  for (const std::vector<std::int64_t>& hidden : {std::vector<std::int64_t>{16}, std::vector<std::int64_t>{8, 8}}) {
    SCOPED_TRACE(std::to_string(hidden.size()) + " hidden layers");
    // Blocks empty: every block at its initial value, 0.
    auto learned = make_learned_rule("learned_mlp", schedule, {{"hidden_sizes", hidden}}, {}, steps);
    auto adam = make_update_rule("adam", adam_h, steps);
    Eigen::VectorXd p = task->initial_parameters();
    Eigen::VectorXd q = p;
    Eigen::VectorXd g(p.size());
    Eigen::VectorXd gq(q.size());
    learned->reset(p.size());
    adam->reset(q.size());
    double worst = 0.0;
    for (std::int64_t t = 1; t <= steps; ++t) {
      StepContext context;
      context.t = t;
      context.total_steps = steps;
      context.tensor_sizes = tensors;
      context.loss = task->loss_and_gradient(p, g);
      learned->step(p, g, context);
      StepContext adam_context = context;
      adam_context.loss = task->loss_and_gradient(q, gq);
      adam->step(q, gq, adam_context);
      worst = std::max(worst, relative_difference(p, q));
    }
    EXPECT_LE(worst, 1e-12);
    EXPECT_GT((p - task->initial_parameters()).norm(), 0.1);  // it moved
  }
}

TEST(LearnedMlpRule, TrainsAtGenerationZeroAndSmallGenesStillTrain) {
  const ParameterSet h = {{"learning_rate", 0.01}};
  for (const TaskKind kind : {TaskKind::quadratic, TaskKind::mlp_regression, TaskKind::mlp_classification}) {
    SCOPED_TRACE(std::string(to_string(kind)));
    const auto task = sample_task(kind, 21);
    auto initial = make_learned_rule("learned_mlp", h, {}, {}, 300);
    const LearningCurve curve = run_inner_loop(*initial, *task, {300, 1e3});
    EXPECT_FALSE(curve.diverged);
    EXPECT_LT(curve.losses.back(), 0.5 * curve.losses.front());

    // Genes spread as a search's first population is (initial_scale = a tenth of the bound): a
    // different rule, which still trains.
    auto perturbed = make_learned_rule("learned_mlp", h, {}, random_blocks("learned_mlp", {}, 0.1, 3), 300);
    const LearningCurve other = run_inner_loop(*perturbed, *task, {300, 1e3});
    EXPECT_FALSE(other.diverged);
    EXPECT_LT(other.losses.back(), 0.5 * other.losses.front());
    EXPECT_NE(other.losses.back(), curve.losses.back());
  }
}

TEST(LearnedMlpRule, InputsAreNormalizedOverEachTensorOfTheTask) {
  // Tensor B is tensor A scaled by 1/100 (parameters and gradients): normalized per tensor, their
  // coordinates see the same inputs, so the network moves them alike; as one tensor they differ.
  const Eigen::VectorXd p = vec({300.0, 100.0, 3.0, 1.0});
  const Eigen::VectorXd g = vec({1000.0, -2000.0, 10.0, -20.0});
  const ParameterSet h = {{"adam_weight", 0.0}, {"epsilon", 1e-30}, {"learning_rate", 1.0}};
  auto rule = make_learned_rule("learned_mlp", h, {}, random_blocks("learned_mlp", {}, 0.5, 9), 10);
  auto step = [&](std::vector<Eigen::Index> tensors) {
    StepContext context;
    context.total_steps = 10;
    context.tensor_sizes = tensors;
    rule->reset(4);
    Eigen::VectorXd q = p;
    rule->step(q, g, context);
    return Eigen::VectorXd(q - p);
  };
  const Eigen::VectorXd per_tensor = step({2, 2});
  EXPECT_GT(per_tensor.cwiseAbs().minCoeff(), 1e-3);
  EXPECT_NEAR(per_tensor(0), per_tensor(2), 1e-12 * std::abs(per_tensor(0)));
  EXPECT_NEAR(per_tensor(1), per_tensor(3), 1e-12 * std::abs(per_tensor(1)));
  const Eigen::VectorXd one_tensor = step({});
  EXPECT_GT(std::abs(one_tensor(0) - one_tensor(2)), 1e-3 * std::abs(one_tensor(0)));
  EXPECT_EQ(step({4}), one_tensor);  // one tensor given = no tensors given

  // An all-zero tensor (its parameters and gradient) gives zero inputs, not 0 / 0.
  rule->reset(4);
  Eigen::VectorXd q = vec({1.0, 2.0, 0.0, 0.0});
  const std::vector<Eigen::Index> halves = {2, 2};
  StepContext context;
  context.tensor_sizes = halves;
  rule->step(q, vec({0.5, -0.1, 0.0, 0.0}), context);
  EXPECT_TRUE(q.allFinite()) << q;

  // Sizes that do not add up to the parameters are a caller's bug, refused before any state changes:
  // the next valid step is the one a fresh rule takes.
  const std::vector<Eigen::Index> wrong = {2, 1};
  context.tensor_sizes = wrong;
  rule->reset(4);
  const Eigen::VectorXd before = q;
  EXPECT_THROW(rule->step(q, vec({0.5, -0.1, 0.0, 0.0}), context), Error);
  EXPECT_EQ(q, before);
  context.tensor_sizes = halves;
  rule->step(q, g, context);
  Eigen::VectorXd fresh = before;
  rule->reset(4);
  rule->step(fresh, g, context);
  EXPECT_EQ(q, fresh);
  rule->reset(3);
  EXPECT_THROW(rule->step(q, vec({0.5, -0.1, 0.0, 0.0}), 1), Error);
}

TEST(LearnedMlpRule, NanOrHugeWeightsEndTheInnerLoopAsDivergedWithoutThrowing) {
  const auto task = sample_task(TaskKind::mlp_regression, 4);
  const Architecture architecture = {{"hidden_sizes", std::vector<std::int64_t>{16}}};
  std::vector<Eigen::VectorXd> nan_blocks = random_blocks("learned_mlp", architecture, 0.5, 1);
  for (Eigen::VectorXd& block : nan_blocks) block.setConstant(std::numeric_limits<double>::quiet_NaN());
  std::vector<Eigen::VectorXd> huge_output = random_blocks("learned_mlp", architecture, 0.5, 1);
  huge_output[1].tail(2) << 1e6, 50.0;  // the read-out's biases: d = 1e6, m = 50
  std::vector<Eigen::VectorXd> huge_everywhere = random_blocks("learned_mlp", architecture, 0.5, 1);
  for (Eigen::VectorXd& block : huge_everywhere) block.setConstant(1e300);

  for (const auto* blocks : {&nan_blocks, &huge_output}) {
    auto rule = make_learned_rule("learned_mlp", {{"learning_rate", 0.01}}, architecture, *blocks, 50);
    LearningCurve curve;
    EXPECT_NO_THROW(curve = run_inner_loop(*rule, *task, {50, 1e3}));
    EXPECT_TRUE(curve.diverged);
    EXPECT_LT(curve.steps(), 50);
  }
  // Weights at 1e300 either blow the step up or switch the network's term off (exp(-huge) = 0):
  // never a crash.
  auto rule = make_learned_rule("learned_mlp", {{"learning_rate", 0.01}}, architecture, huge_everywhere, 50);
  EXPECT_NO_THROW(run_inner_loop(*rule, *task, {50, 1e3}));

  // A non-finite gradient reaches the parameters as NaN, without an exception.
  auto plain = make_learned_rule("learned_mlp", {}, {}, {}, 10);
  plain->reset(3);
  Eigen::VectorXd p = vec({1.0, 2.0, 3.0});
  EXPECT_NO_THROW(plain->step(p, vec({std::numeric_limits<double>::infinity(), 1.0, 0.0}), 1));
  EXPECT_FALSE(p.allFinite());
}

TEST(LearnedMlpRule, AStepAllocatesNothing) {
  if (!testing_support::allocation_counting_available())
    GTEST_SKIP() << "no allocation counting under AddressSanitizer";
  const Eigen::Index n = 5000;
  const std::vector<Eigen::Index> tensors = {4000, 900, 100};
  // Up to the widest layers allowed, whose products pack the most.
  for (const std::vector<std::int64_t>& hidden :
       {std::vector<std::int64_t>{16}, std::vector<std::int64_t>{32, 32}, std::vector<std::int64_t>{64, 64}}) {
    const Architecture architecture = {{"hidden_sizes", hidden}};
    auto rule = make_learned_rule("learned_mlp", {{"learning_rate", 1e-3}}, architecture,
                                  random_blocks("learned_mlp", architecture, 0.3, 2), 100);
    Eigen::VectorXd p = Eigen::VectorXd::LinSpaced(n, -1.0, 1.0);
    const Eigen::VectorXd g = Eigen::VectorXd::LinSpaced(n, 0.5, -0.3);
    rule->reset(n);
    StepContext context;
    context.total_steps = 100;
    context.tensor_sizes = tensors;
    context.loss = 1.0;
    testing_support::start_counting_allocations();
    for (std::int64_t t = 1; t <= 3; ++t) {
      context.t = t;
      rule->step(p, g, context);
    }
    EXPECT_EQ(testing_support::stop_counting_allocations(), 0) << hidden.size() << " x " << hidden[0];
    EXPECT_TRUE(p.allFinite());
  }
}

// ---------------------------------------------------------------------------------------------
// Architecture, blocks, config
// ---------------------------------------------------------------------------------------------

TEST(LearnedMlpRule, WeightCountsOfTheArchitectures) {
  EXPECT_EQ(weight_count("learned_mlp", {}), 258);  // default [16]: 14 * 16 + 17 * 2
  EXPECT_EQ(weight_count("learned_mlp", {{"hidden_sizes", std::vector<std::int64_t>{32}}}), 514);
  EXPECT_EQ(weight_count("learned_mlp", {{"hidden_sizes", std::vector<std::int64_t>{16, 16}}}), 530);
  EXPECT_EQ(weight_count("learned_mlp", {{"hidden_sizes", std::vector<std::int64_t>{32, 32}}}), 1570);
  const std::int64_t default_count = weight_count("learned_mlp", {});
  EXPECT_GE(default_count, 100);
  EXPECT_LE(default_count, 2000);

  const std::vector<GeneBlock> blocks = update_rule_gene_blocks("learned_mlp", update_rule_architecture("learned_mlp"));
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].name, "hidden1");
  EXPECT_EQ(blocks[1].name, "output");
  for (const GeneBlock& block : blocks) {
    EXPECT_EQ(block.initial_value, 0.0);  // generation 0 is Adam
    EXPECT_GT(block.initial_scale, 0.0);
    EXPECT_LT(block.initial_scale, block.high);
  }
  EXPECT_DOUBLE_EQ(blocks[0].high, 3.0 / std::sqrt(13.0));
  EXPECT_TRUE(contains(blocks[1].description, "258 weights in all")) << blocks[1].description;
  const std::string& definition = update_rule_registry().find("learned_mlp").definition;
  for (const char* part :
       {"x7 = (m_0.9 / c_0.9) / D", "sqrt(mean(x^2) + 1e-12)", "exp(alpha m)", "mix64", "row by row"})
    EXPECT_TRUE(contains(definition, part)) << part;
}

const std::string learned_mlp_config = R"([run]
seed = 5
generations = 3

[search]
strategy = "openai_es"

[search.openai_es]
population_size = 4
sigma = 0.05
learning_rate = 0.05

[evaluation]
tasks_per_evaluation = 2
inner_steps = 30
holdout_tasks = 2
validation_tasks = 2

[update_rule]
family = "learned_mlp"

[update_rule.architecture]
hidden_sizes = [16]

[update_rule.fixed]
learning_rate = 0.01

[[tasks]]
family = "mlp_regression"
dimension = 3
samples = 16
hidden_layers = [4]
)";

TEST(LearnedMlpRule, AConfigWithAnArchitectureAndNoGenesParsesAndAnOpenAiEsSearchRuns) {
  const RunConfig config = parse_config(learned_mlp_config, "learned.toml");
  EXPECT_EQ(config.update_rule.family, "learned_mlp");
  EXPECT_EQ(config.update_rule.architecture.integer_list("hidden_sizes"), (std::vector<std::int64_t>{16}));
  EXPECT_EQ(config.update_rule.architecture.integer("init_seed"), 0);
  EXPECT_TRUE(config.update_rule.genes.empty());
  const SearchSpace space = config.search_space();
  EXPECT_EQ(space.scalar_count(), 0);
  EXPECT_EQ(space.size(), 258);

  TemporaryPath output(".h5");
  const RunSummary summary = run_search(config, output.path());
  EXPECT_EQ(summary.termination, Termination::completed);
  EXPECT_EQ(summary.generations, 3);
  EXPECT_TRUE(std::isfinite(summary.best_fitness));
  ASSERT_TRUE(summary.holdout.has_value());
  EXPECT_TRUE(std::isfinite(summary.holdout->default_fitness));

  // The architecture is checked at its line.
  std::string bad = learned_mlp_config;
  bad.replace(bad.find("hidden_sizes = [16]"), 19, "hidden_sizes = [0]");
  try {
    parse_config(bad, "learned.toml");
    ADD_FAILURE() << "hidden_sizes = [0] was accepted";
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "learned.toml:23: update_rule.architecture.hidden_sizes")) << error.what();
  }
}

TEST(LearnedMlpRule, TheExampleConfigIsValidAndCheckPrintsTheWeightCount) {
  const std::filesystem::path example =
      std::filesystem::path(METAEVO_SOURCE_DIR) / "experiments" / "learned" / "learned_mlp_mlp_tasks.toml";
  const RunConfig config = load_config(example);
  EXPECT_EQ(config.update_rule.family, "learned_mlp");
  const auto check = run_command(std::string(METAEVO_CLI_PATH) + " check " + example.string());
  EXPECT_EQ(check.exit_status, 0) << check.output;
  for (const char* expected : {"block hidden1", "block output", "258 weights in all"})
    EXPECT_TRUE(contains(check.output, expected)) << expected << "\n" << check.output;

  // `metaevo families` lists the architecture options with the hyperparameters.
  const auto families = run_command(std::string(METAEVO_CLI_PATH) + " families");
  EXPECT_EQ(families.exit_status, 0) << families.output;
  for (const char* expected : {"  learned_mlp: ", "    adam_weight ", "    [update_rule.architecture]:",
                               "    hidden_sizes        1 or 2 integers in [1, 64]", "  learned_rnn: ",
                               "    hidden_size         integer in [1, 64]"})
    EXPECT_TRUE(contains(families.output, expected)) << expected << "\n" << families.output;
}

TEST(LearnedMlpRule, ThePythonReferenceTakesTheSameStepsWithHandSetAndExportedWeights) {
  // scripts/learned_rule_reference.py is what docs/learned-rules.md gives users to apply a rule
  // elsewhere: it must agree with the rule to rounding, from weights set by hand and from the JSON
  // `metaevo export` writes (architecture, blocks by name, hyperparameters, schedule).
  const std::string python = "/usr/bin/python3";
  if (!std::filesystem::exists(python)) GTEST_SKIP() << "no " << python;
  const std::string script = python + " " + METAEVO_SOURCE_DIR + "/scripts/learned_rule_reference.py";
  const auto demo = run_command(script + " --demo learned_mlp");
  ASSERT_EQ(demo.exit_status, 0) << demo.output;
  const std::vector<Eigen::VectorXd> expected = testing_support::parse_demo_output(demo.output);
  ASSERT_EQ(expected.size(), 3u) << demo.output;
  const std::vector<Eigen::VectorXd> steps = testing_support::demo_steps(*testing_support::patterned_demo_rule(
      "learned_mlp", {{"hidden_sizes", std::vector<std::int64_t>{4, 3}}, {"init_seed", std::int64_t{5}}}));
  for (std::size_t k = 0; k < steps.size(); ++k) EXPECT_LT(relative_difference(steps[k], expected[k]), 1e-13) << k;

  ExportedUpdateRule exported;
  exported.family = "learned_mlp";
  exported.hyperparameters = default_hyperparameters("learned_mlp");
  exported.hyperparameters["learning_rate"] = 0.05;
  exported.hyperparameters["alpha"] = 0.3;
  exported.hyperparameters["schedule"] = std::string("warmup_cosine");
  exported.hyperparameters["warmup_fraction"] = 0.25;
  exported.hyperparameters["final_lr_fraction"] = 0.1;
  exported.architecture = update_rule_architecture(
      "learned_mlp", {{"hidden_sizes", std::vector<std::int64_t>{8, 4}}, {"init_seed", std::int64_t{3}}});
  const std::vector<GeneBlock> blocks = update_rule_gene_blocks("learned_mlp", exported.architecture);
  const std::vector<Eigen::VectorXd> values = random_blocks("learned_mlp", exported.architecture.values(), 0.5, 17);
  for (std::size_t b = 0; b < blocks.size(); ++b) exported.blocks.emplace_back(blocks[b].name, values[b]);
  exported.inner_steps = 6;  // the schedule's length: warmup of 2 steps, then cosine
  TemporaryPath file(".json");
  std::ofstream(file.path()) << to_json(exported);
  const auto applied = run_command(script + " --apply " + file.string());
  ASSERT_EQ(applied.exit_status, 0) << applied.output;
  const std::vector<Eigen::VectorXd> expected_exported = testing_support::parse_demo_output(applied.output);
  ASSERT_EQ(expected_exported.size(), 3u) << applied.output;
  const std::unique_ptr<UpdateRule> rule = make_update_rule(update_rule_from_json(to_json(exported)));
  const std::vector<Eigen::VectorXd> exported_steps = testing_support::demo_steps(*rule);
  for (std::size_t k = 0; k < exported_steps.size(); ++k)
    EXPECT_LT(relative_difference(exported_steps[k], expected_exported[k]), 1e-13) << k;
}

}  // namespace
}  // namespace metaevo
