// The learned_rnn update rule: its batched step against the documented cell written plainly per
// coordinate, the state each coordinate carries (and reset clears), the documented initialization
// (genes at 0 = Adam, step for step; it trains), NaN weights ending an inner loop as diverged, no
// allocation per step, the weight counts, and its config: checked and searched by OpenAI-ES.
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
using testing_support::PlainMatrix;
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

Architecture hidden(std::int64_t units, std::int64_t init_seed = 0) {
  return {{"hidden_size", units}, {"init_seed", init_seed}};
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

/// One step from fresh copies of p, returning the change.
Eigen::VectorXd change(UpdateRule& rule, const Eigen::VectorXd& p, const Eigen::VectorXd& g,
                       const StepContext& context) {
  Eigen::VectorXd q = p;
  rule.step(q, g, context);
  return q - p;
}

TEST(LearnedRnnRule, BatchedStepMatchesAPlainPerCoordinateCell) {
  const int units = 2;
  const Architecture architecture = hidden(units, 7);
  const std::vector<Eigen::VectorXd> blocks = patterned_blocks("learned_rnn", architecture);
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
  auto rule = make_learned_rule("learned_rnn", h, architecture, blocks, 10);

  // The documented cell from the same blocks: W_x (+ base, tag 2 layer 0) and b; W_h (+ base, tag 2
  // layer 1, gain 0.5), row by row, no bias; the read-out.
  const PlainLayer input = plain_layer(blocks[0], 13, units, documented_base(7, 2, 0, 13, units, 1.0));
  const PlainMatrix recurrent_base = documented_base(7, 2, 1, units, units, 0.5);
  PlainMatrix recurrent(units, std::vector<double>(units));
  for (int j = 0; j < units; ++j) {
    for (int k = 0; k < units; ++k) recurrent[j][k] = recurrent_base[j][k] + blocks[1](j * units + k);
  }
  const PlainLayer readout = plain_layer(blocks[2], units, 2, {});

  const std::vector<Eigen::Index> tensors = {3, 2};
  const std::vector<Eigen::VectorXd> gradients = {vec({0.3, -1.2, 0.05, 2.0, -0.4}), vec({0.1, -0.8, 0.2, 1.5, 0.3}),
                                                  vec({-0.2, -0.5, 0.1, 0.9, 0.6}), vec({0.4, 0.1, -0.3, 0.2, 0.0})};
  const std::vector<double> losses = {2.0, 1.5, 1.7, 1.1};
  Eigen::VectorXd p = vec({0.5, -0.25, 1.0, 0.0, 0.75});
  Eigen::VectorXd expected = p;
  ReferenceLearnedRule reference(5);
  std::vector<std::vector<double>> state(5, std::vector<double>(units, 0.0));
  rule->reset(5);
  for (std::size_t k = 0; k < gradients.size(); ++k) {
    StepContext context;
    context.t = static_cast<std::int64_t>(k + 1);
    context.total_steps = 10;
    context.loss = losses[k];
    context.tensor_sizes = tensors;
    const auto inputs = reference.inputs(expected, gradients[k], context.t, 10, losses[k], tensors, s.epsilon);
    std::vector<std::vector<double>> outputs;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      std::vector<double> next = plain_forward(input, inputs[i], true);  // x W_x + b
      for (int u = 0; u < units; ++u) {
        for (int j = 0; j < units; ++j) next[u] += state[i][j] * recurrent[j][u];
        next[u] = std::tanh(next[u]);
      }
      state[i] = next;
      outputs.push_back(plain_forward(readout, state[i], true));
    }
    reference.step(expected, outputs, s);
    rule->step(p, gradients[k], context);
    EXPECT_LT(relative_difference(p, expected), 1e-12) << "step " << k + 1 << "\n" << p << "\n" << expected;
  }
}

TEST(LearnedRnnRule, CarriesItsStateAcrossStepsAndResetClearsIt) {
  // The network's term alone (adam_weight 0). The same p, g and t twice give the same normalized
  // inputs (the moments grow by one factor per tensor), so only the state can tell the steps apart.
  const std::int64_t units = 4;
  const Architecture architecture = hidden(units, 3);
  const ParameterSet h = {{"adam_weight", 0.0}, {"learning_rate", 1.0}, {"epsilon", 1e-30}};
  const std::vector<Eigen::VectorXd> blocks = random_blocks("learned_rnn", architecture, 0.5, 5);
  std::vector<Eigen::VectorXd> memoryless = blocks;
  const PlainMatrix base = documented_base(3, 2, 1, units, units, 0.5);
  for (std::int64_t j = 0; j < units; ++j) {
    for (std::int64_t k = 0; k < units; ++k) memoryless[1](j * units + k) = -base[j][k];  // W_h = 0
  }
  auto rule = make_learned_rule("learned_rnn", h, architecture, blocks, 10);
  auto control = make_learned_rule("learned_rnn", h, architecture, memoryless, 10);

  const Eigen::VectorXd p = vec({0.5, -1.0, 2.0});
  const Eigen::VectorXd g = vec({0.2, 0.4, -0.1});
  StepContext context;
  context.total_steps = 10;
  context.loss = 1.0;
  rule->reset(3);
  control->reset(3);
  const Eigen::VectorXd first = change(*rule, p, g, context);
  const Eigen::VectorXd second = change(*rule, p, g, context);
  const Eigen::VectorXd control_first = change(*control, p, g, context);
  const Eigen::VectorXd control_second = change(*control, p, g, context);

  EXPECT_EQ(first, control_first);  // h_0 = 0: W_h does not matter yet
  // No state, the same inputs up to the 1e-12 floor of the normalization (relative 1e-11 here).
  EXPECT_LT(relative_difference(control_second, control_first), 1e-9);
  EXPECT_GT((second - first).norm(), 1e-3 * first.norm());  // the state differs

  rule->reset(3);
  EXPECT_EQ(change(*rule, p, g, context), first);  // reset set the state back to 0
  rule->reset(2);
  EXPECT_THROW(change(*rule, p, g, context), Error);  // sizes are checked
}

TEST(LearnedRnnRule, GenesAtZeroAreAdamStepForStepAndTrain) {
  const std::int64_t steps = 60;
  const ParameterSet schedule = {{"learning_rate", 0.02}, {"schedule", std::string("cosine")}};
  const auto task = sample_task(TaskKind::mlp_regression, 8);
  const std::vector<Eigen::Index> tensors = task->tensor_sizes();
  auto learned = make_learned_rule("learned_rnn", schedule, {}, {}, steps);
  auto adam = make_update_rule("adam", schedule, steps);  // beta1 0.9, beta2 0.999, epsilon 1e-8
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
    task->loss_and_gradient(q, gq);
    adam->step(q, gq, context);
    worst = std::max(worst, relative_difference(p, q));
  }
  EXPECT_LE(worst, 1e-12);

  for (const TaskKind kind : {TaskKind::quadratic, TaskKind::mlp_classification}) {
    SCOPED_TRACE(std::string(to_string(kind)));
    const auto other = sample_task(kind, 21);
    auto initial = make_learned_rule("learned_rnn", {{"learning_rate", 0.01}}, {}, {}, 300);
    const LearningCurve curve = run_inner_loop(*initial, *other, {300, 1e3});
    EXPECT_FALSE(curve.diverged);
    EXPECT_LT(curve.losses.back(), 0.5 * curve.losses.front());
    auto perturbed =
        make_learned_rule("learned_rnn", {{"learning_rate", 0.01}}, {}, random_blocks("learned_rnn", {}, 0.1, 3), 300);
    const LearningCurve spread = run_inner_loop(*perturbed, *other, {300, 1e3});
    EXPECT_FALSE(spread.diverged);
    EXPECT_LT(spread.losses.back(), 0.5 * spread.losses.front());
    EXPECT_NE(spread.losses.back(), curve.losses.back());
  }
}

TEST(LearnedRnnRule, NanWeightsEndTheInnerLoopAsDivergedWithoutThrowing) {
  const auto task = sample_task(TaskKind::quadratic, 4);
  for (std::size_t b = 0; b < 3; ++b) {
    std::vector<Eigen::VectorXd> blocks = random_blocks("learned_rnn", {}, 0.5, 1);
    blocks[b].setConstant(std::numeric_limits<double>::quiet_NaN());
    auto rule = make_learned_rule("learned_rnn", {{"learning_rate", 0.01}}, {}, blocks, 50);
    LearningCurve curve;
    EXPECT_NO_THROW(curve = run_inner_loop(*rule, *task, {50, 1e3})) << "block " << b;
    EXPECT_TRUE(curve.diverged) << "block " << b;
  }
  std::vector<Eigen::VectorXd> huge = random_blocks("learned_rnn", {}, 0.5, 1);
  for (Eigen::VectorXd& block : huge) block.setConstant(1e300);
  auto rule = make_learned_rule("learned_rnn", {{"learning_rate", 0.01}}, {}, huge, 50);
  EXPECT_NO_THROW(run_inner_loop(*rule, *task, {50, 1e3}));
}

TEST(LearnedRnnRule, AStepAllocatesNothing) {
  if (!testing_support::allocation_counting_available())
    GTEST_SKIP() << "no allocation counting under AddressSanitizer";
  const Eigen::Index n = 5000;
  const std::vector<Eigen::Index> tensors = {4000, 1000};
  for (const std::int64_t units : {16, 32, 64}) {  // up to the widest cell allowed
    const Architecture architecture = hidden(units);
    auto rule = make_learned_rule("learned_rnn", {{"learning_rate", 1e-3}}, architecture,
                                  random_blocks("learned_rnn", architecture, 0.3, 2), 100);
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
    EXPECT_EQ(testing_support::stop_counting_allocations(), 0) << units << " units";
    EXPECT_TRUE(p.allFinite());
  }
}

TEST(LearnedRnnRule, WeightCountsBlocksAndDefinition) {
  auto count = [](const Architecture& architecture) {
    std::int64_t total = 0;
    for (const GeneBlock& block :
         update_rule_gene_blocks("learned_rnn", update_rule_architecture("learned_rnn", architecture))) {
      total += block.length;
    }
    return total;
  };
  EXPECT_EQ(count({}), 514);  // default 16: 14 * 16 + 16 * 16 + 17 * 2
  EXPECT_EQ(count(hidden(8)), 194);
  EXPECT_EQ(count(hidden(32)), 1538);
  EXPECT_GE(count({}), 100);
  EXPECT_LE(count({}), 2000);
  const std::vector<GeneBlock> blocks = update_rule_gene_blocks("learned_rnn", update_rule_architecture("learned_rnn"));
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].name, "input");
  EXPECT_EQ(blocks[1].name, "recurrent");
  EXPECT_EQ(blocks[1].length, 256);
  EXPECT_EQ(blocks[2].name, "readout");
  for (const GeneBlock& block : blocks) EXPECT_EQ(block.initial_value, 0.0);
  EXPECT_TRUE(contains(blocks[2].description, "514 weights in all")) << blocks[2].description;
  const std::string& definition = update_rule_registry().find("learned_rnn").definition;
  for (const char* part : {"h <- tanh(x W_x + h W_h + b)", "gain 0.5", "x12 = tanh(ln(L_t / L_0))", "mix64"})
    EXPECT_TRUE(contains(definition, part)) << part;

  try {
    make_learned_rule("learned_rnn", {}, hidden(0), {}, 10);
    ADD_FAILURE() << "hidden_size 0 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "hidden_size must be in [1, 64], got 0")) << error.what();
  }
}

TEST(LearnedRnnRule, TheExampleConfigIsCheckedAndAShortOpenAiEsSearchRuns) {
  const std::filesystem::path example =
      std::filesystem::path(METAEVO_SOURCE_DIR) / "experiments" / "learned" / "learned_rnn_mlp_tasks.toml";
  RunConfig config = load_config(example);
  EXPECT_EQ(config.update_rule.family, "learned_rnn");
  EXPECT_EQ(config.update_rule.architecture.integer("hidden_size"), 16);
  EXPECT_TRUE(config.update_rule.genes.empty());
  EXPECT_EQ(config.search.strategy, "openai_es");
  const auto check = run_command(std::string(METAEVO_CLI_PATH) + " check " + example.string());
  EXPECT_EQ(check.exit_status, 0) << check.output;
  for (const char* expected : {"block input", "block recurrent", "block readout", "514 weights in all"})
    EXPECT_TRUE(contains(check.output, expected)) << expected << "\n" << check.output;

  // The example shrunk to seconds: two generations of 16 genomes on 1 task of 20 steps.
  config.run.generations = 2;
  config.evaluation.tasks_per_evaluation = 1;
  config.evaluation.inner_steps = 20;
  config.evaluation.holdout_tasks = 2;
  config.evaluation.validation_tasks = 1;
  TemporaryPath output(".h5");
  const RunSummary summary = run_search(config, output.path());
  EXPECT_EQ(summary.termination, Termination::completed);
  EXPECT_TRUE(std::isfinite(summary.best_fitness));
  ASSERT_TRUE(summary.holdout.has_value());
  EXPECT_TRUE(std::isfinite(summary.holdout->best_fitness));
}

TEST(LearnedRnnRule, ThePythonReferenceTakesTheSameStepsWithHandSetAndExportedWeights) {
  // scripts/learned_rule_reference.py is what docs/learned-rules.md gives users to apply a rule
  // elsewhere: it must agree with the rule to rounding, from weights set by hand and from the JSON
  // `metaevo export` writes (architecture, blocks by name, hyperparameters, schedule).
  const std::string python = "/usr/bin/python3";
  if (!std::filesystem::exists(python)) GTEST_SKIP() << "no " << python;
  const std::string script = python + " " + METAEVO_SOURCE_DIR + "/scripts/learned_rule_reference.py";
  const auto demo = run_command(script + " --demo learned_rnn");
  ASSERT_EQ(demo.exit_status, 0) << demo.output;
  const std::vector<Eigen::VectorXd> expected = testing_support::parse_demo_output(demo.output);
  ASSERT_EQ(expected.size(), 3u) << demo.output;
  const std::vector<Eigen::VectorXd> steps =
      testing_support::demo_steps(*testing_support::patterned_demo_rule("learned_rnn", hidden(3, 5)));
  for (std::size_t k = 0; k < steps.size(); ++k) EXPECT_LT(relative_difference(steps[k], expected[k]), 1e-13) << k;

  ExportedUpdateRule exported;
  exported.family = "learned_rnn";
  exported.hyperparameters = default_hyperparameters("learned_rnn");
  exported.hyperparameters["learning_rate"] = 0.05;
  exported.hyperparameters["alpha"] = 0.3;
  exported.hyperparameters["schedule"] = std::string("warmup_cosine");
  exported.hyperparameters["warmup_fraction"] = 0.25;
  exported.hyperparameters["final_lr_fraction"] = 0.1;
  exported.architecture = update_rule_architecture("learned_rnn", hidden(6, 3));
  const std::vector<GeneBlock> blocks = update_rule_gene_blocks("learned_rnn", exported.architecture);
  const std::vector<Eigen::VectorXd> values = random_blocks("learned_rnn", exported.architecture.values(), 0.5, 17);
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
