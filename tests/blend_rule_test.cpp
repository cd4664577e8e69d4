// The blend update rule: the weights that reproduce the single-term rules do so step for step, every
// term matches its hand-computed value, clipping acts as documented, and exploding weights end an
// inner loop as diverged instead of crashing it. Plus its config and `metaevo check`.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/evaluation/inner_loop.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/tasks/task.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::run_command;
using testing_support::TemporaryPath;

Eigen::VectorXd vec(std::initializer_list<double> values) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double x : values) v(i++) = x;
  return v;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Hyperparameters with `more` merged over `base` (later wins).
ParameterSet with(ParameterSet base, const ParameterSet& more) {
  for (const auto& [name, value] : more) base[name] = value;
  return base;
}

/// Random gradients whose scale changes by orders of magnitude from step to step (Adam's
/// normalization and the sign terms then matter), with an exact zero now and then.
std::vector<Eigen::VectorXd> random_gradients(int steps, Eigen::Index n, std::uint64_t seed) {
  RandomStream stream(seed, StreamPurpose::test, {static_cast<std::uint64_t>(n)});
  std::vector<Eigen::VectorXd> gradients;
  for (int t = 0; t < steps; ++t) {
    const double scale = std::pow(10.0, stream.uniform(-3.0, 3.0));
    Eigen::VectorXd g(n);
    for (Eigen::Index i = 0; i < n; ++i) g(i) = stream.uniform() < 0.05 ? 0.0 : scale * stream.normal();
    gradients.push_back(g);
  }
  return gradients;
}

/// The parameters after each step of `rule` from p0 along the given gradients.
std::vector<Eigen::VectorXd> trajectory(UpdateRule& rule, Eigen::VectorXd p,
                                        const std::vector<Eigen::VectorXd>& gradients) {
  rule.reset(p.size());
  std::vector<Eigen::VectorXd> points;
  for (std::size_t i = 0; i < gradients.size(); ++i) {
    rule.step(p, gradients[i], static_cast<std::int64_t>(i + 1));
    points.push_back(p);
  }
  return points;
}

/// Every step's parameters agree to `relative` times the largest coordinate of the reference
/// (coordinates passing through 0 make a per-coordinate ratio meaningless).
void expect_same_trajectory(const std::vector<Eigen::VectorXd>& actual, const std::vector<Eigen::VectorXd>& expected,
                            double relative, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t t = 0; t < actual.size(); ++t) {
    const double scale = expected[t].cwiseAbs().maxCoeff();
    ASSERT_TRUE(std::isfinite(scale)) << what << ", step " << t + 1;
    const double error = (actual[t] - expected[t]).cwiseAbs().maxCoeff();
    ASSERT_LE(error, relative * scale) << what << ", step " << t + 1;
  }
}

void expect_vector_near(const Eigen::VectorXd& actual, const Eigen::VectorXd& expected, double tolerance,
                        const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (Eigen::Index i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual(i), expected(i), tolerance) << what << ", coordinate " << i;
}

// ---------------------------------------------------------------------------------------------
// Reproducing the single-term rules
// ---------------------------------------------------------------------------------------------

struct Equivalence {
  std::string name;
  std::string family;
  ParameterSet reference;  // the family's hyperparameters
  ParameterSet blend;      // the blend hyperparameters that should give the same steps
};

std::vector<Equivalence> equivalences() {
  // Every blend setting names weight_adam: its default is 1.
  return {
      {"sgd",
       "sgd",
       {{"learning_rate", 0.05}},
       {{"learning_rate", 0.05}, {"weight_adam", 0.0}, {"weight_gradient", 1.0}}},
      {"momentum",
       "momentum",
       {{"learning_rate", 0.02}, {"momentum", 0.8}},
       {{"learning_rate", 0.02}, {"weight_adam", 0.0}, {"weight_momentum", 1.0}, {"momentum", 0.8}}},
      {"nesterov",
       "nesterov",
       {{"learning_rate", 0.02}, {"momentum", 0.95}},
       {{"learning_rate", 0.02}, {"weight_adam", 0.0}, {"weight_nesterov", 1.0}, {"momentum", 0.95}}},
      {"adam",
       "adam",
       {{"learning_rate", 0.01}, {"beta1", 0.8}, {"beta2", 0.99}, {"epsilon", 1e-6}},
       {{"learning_rate", 0.01}, {"weight_adam", 1.0}, {"beta1", 0.8}, {"beta2", 0.99}, {"epsilon", 1e-6}}},
      {"adamw",
       "adamw",
       {{"learning_rate", 0.01}, {"beta1", 0.85}, {"beta2", 0.995}, {"epsilon", 1e-8}, {"weight_decay", 0.1}},
       {{"learning_rate", 0.01},
        {"weight_adam", 1.0},
        {"beta1", 0.85},
        {"beta2", 0.995},
        {"epsilon", 1e-8},
        {"weight_decay", 0.1}}},
      {"lion",
       "lion",
       {{"learning_rate", 0.003}, {"beta1", 0.8}, {"beta2", 0.95}, {"weight_decay", 0.5}},
       {{"learning_rate", 0.003},
        {"weight_adam", 0.0},
        {"weight_lion", 1.0},
        {"lion_beta1", 0.8},
        {"lion_beta2", 0.95},
        {"weight_decay", 0.5}}},
      // The family defaults: blend's are Adam's.
      {"adam defaults", "adam", {}, {}},
  };
}

TEST(BlendRuleTest, ReproducesEverySingleTermRuleStepForStep) {
  const int steps = 50;
  const Eigen::Index n = 20;
  const std::vector<Eigen::VectorXd> gradients = random_gradients(steps, n, 1);
  Eigen::VectorXd p0(n);
  RandomStream start(2, StreamPurpose::test, {0});
  for (Eigen::Index i = 0; i < n; ++i) p0(i) = start.normal();

  const std::vector<ParameterSet> schedules = {
      {},
      {{"schedule", std::string("cosine")}, {"final_lr_fraction", 0.1}},
      {{"schedule", std::string("warmup_cosine")}, {"warmup_fraction", 0.2}},
  };
  for (const Equivalence& e : equivalences()) {
    for (const ParameterSet& schedule : schedules) {
      const std::string what = e.name + (schedule.empty() ? "" : ", " + std::get<std::string>(schedule.at("schedule")));
      auto reference = make_update_rule(e.family, with(e.reference, schedule), steps);
      auto blend = make_update_rule("blend", with(e.blend, schedule), steps);
      EXPECT_EQ(blend->family(), "blend");
      expect_same_trajectory(trajectory(*blend, p0, gradients), trajectory(*reference, p0, gradients), 1e-12, what);
    }
  }
}

TEST(BlendRuleTest, SignumIsLionWithEqualBetas) {
  // sign(l advanced by b) = sign(b l + (1 - b) g): Lion with lion_beta1 = lion_beta2.
  const std::vector<Eigen::VectorXd> gradients = random_gradients(30, 8, 3);
  const Eigen::VectorXd p0 = Eigen::VectorXd::Constant(8, 0.5);
  auto signum = make_update_rule("blend", {{"weight_adam", 0.0}, {"weight_signum", 1.0}, {"lion_beta2", 0.7}}, 30);
  auto lion = make_update_rule(
      "blend", {{"weight_adam", 0.0}, {"weight_lion", 1.0}, {"lion_beta1", 0.7}, {"lion_beta2", 0.7}}, 30);
  expect_same_trajectory(trajectory(*signum, p0, gradients), trajectory(*lion, p0, gradients), 0.0, "signum");
}

TEST(BlendRuleTest, ZeroWeightsLeaveTheirTermsOut) {
  // An overflowing velocity (g ~ 1e308 twice) is not read when its weights are 0, so sgd stays finite.
  auto blend = make_update_rule("blend", {{"weight_adam", 0.0}, {"weight_gradient", 1.0}}, 10);
  Eigen::VectorXd p = vec({0.0});
  blend->reset(1);
  blend->step(p, vec({1.5e308}), 1);
  blend->step(p, vec({1.5e308}), 2);
  EXPECT_EQ(p(0), -2.0 * 1e-3 * 1.5e308);
}

// ---------------------------------------------------------------------------------------------
// Each term by hand
// ---------------------------------------------------------------------------------------------

// Two steps from p0 along g1 then g2 with lr 0.1, momentum 0.9, Adam's betas 0.9 / 0.999,
// epsilon 1e-8, lion_beta1 0.9 and lion_beta2 0.5. The last coordinate has a zero gradient (sign 0).
const Eigen::VectorXd p0 = vec({1.0, -2.0, 0.5});
const Eigen::VectorXd g1 = vec({0.5, -1.0, 0.0});
const Eigen::VectorXd g2 = vec({-0.025, 2.0, 0.0});

struct TermByHand {
  std::string weight;
  Eigen::VectorXd d1, d2;  // the term at steps 1 and 2
};

std::vector<TermByHand> terms_by_hand() {
  // Adam, coordinate 0: m = 0.05, 0.9 * 0.05 - 0.1 * 0.025 = 0.0425; s = 0.001 * 0.25 = 0.00025,
  // 0.999 * 0.00025 + 0.001 * 0.000625 = 0.000250375. Coordinate 1: m = -0.1, -0.09 + 0.2 = 0.11;
  // s = 0.001, 0.000999 + 0.004 = 0.004999. Corrections 0.1, 0.001 then 0.19, 0.001999.
  const double eps = 1e-8;
  const Eigen::VectorXd adam1 = vec({0.5 / (0.5 + eps), -1.0 / (1.0 + eps), 0.0});
  const Eigen::VectorXd adam2 = vec({(0.0425 / 0.19) / (std::sqrt(0.000250375 / 0.001999) + eps),
                                     (0.11 / 0.19) / (std::sqrt(0.004999 / 0.001999) + eps), 0.0});
  return {
      {"weight_gradient", g1, g2},
      // v = g1, then 0.9 g1 + g2 = (0.425, 1.1, 0).
      {"weight_momentum", g1, vec({0.425, 1.1, 0.0})},
      // g + 0.9 v: 1.9 g1, then (-0.025 + 0.3825, 2 + 0.99, 0).
      {"weight_nesterov", vec({0.95, -1.9, 0.0}), vec({0.3575, 2.99, 0.0})},
      {"weight_adam", adam1, adam2},
      {"weight_signsgd", vec({1.0, -1.0, 0.0}), vec({-1.0, 1.0, 0.0})},
      // l = 0.5 g1 = (0.25, -0.5, 0), then 0.5 l + 0.5 g2 = (0.1125, 0.75, 0).
      {"weight_signum", vec({1.0, -1.0, 0.0}), vec({1.0, 1.0, 0.0})},
      // sign(0.1 g1), then sign(0.9 (0.25, -0.5) + 0.1 g2) = sign(0.2225, -0.25): the momentum
      // outweighs g2 in coordinate 0 only.
      {"weight_lion", vec({1.0, -1.0, 0.0}), vec({1.0, -1.0, 0.0})},
  };
}

ParameterSet hand_setting() {
  return {{"learning_rate", 0.1}, {"momentum", 0.9},   {"beta1", 0.9},      {"beta2", 0.999},
          {"epsilon", 1e-8},      {"lion_beta1", 0.9}, {"lion_beta2", 0.5}, {"weight_adam", 0.0}};
}

TEST(BlendRuleTest, EveryTermAloneMatchesItsHandComputedSteps) {
  const double w = -1.5;  // negative: the weight's sign carries through
  for (const TermByHand& term : terms_by_hand()) {
    auto rule = make_update_rule("blend", with(hand_setting(), {{term.weight, w}}), 10);
    Eigen::VectorXd p = p0;
    rule->reset(3);
    rule->step(p, g1, 1);
    const Eigen::VectorXd p1 = p0 - 0.1 * w * term.d1;
    expect_vector_near(p, p1, 1e-12, term.weight + ", step 1");
    rule->step(p, g2, 2);
    expect_vector_near(p, p1 - 0.1 * w * term.d2, 1e-12, term.weight + ", step 2");
  }
}

TEST(BlendRuleTest, AllTermsTogetherAddUpWithDecoupledDecay) {
  const std::vector<double> weights = {0.5, -1.0, 2.0, 0.25, 1.5, -0.5, 0.75};
  const std::vector<TermByHand> terms = terms_by_hand();
  ParameterSet setting = with(hand_setting(), {{"weight_decay", 0.2}});
  Eigen::VectorXd d1 = Eigen::VectorXd::Zero(3), d2 = Eigen::VectorXd::Zero(3);
  for (std::size_t i = 0; i < terms.size(); ++i) {
    setting[terms[i].weight] = weights[i];
    d1 += weights[i] * terms[i].d1;
    d2 += weights[i] * terms[i].d2;
  }
  auto rule = make_update_rule("blend", setting, 10);
  Eigen::VectorXd p = p0;
  rule->reset(3);
  rule->step(p, g1, 1);
  // Decay on the parameters before the step, at the same rate: p (1 - 0.1 * 0.2), then - lr d.
  const Eigen::VectorXd p1 = 0.98 * p0 - 0.1 * d1;
  expect_vector_near(p, p1, 1e-12, "step 1");
  rule->step(p, g2, 2);
  expect_vector_near(p, 0.98 * p1 - 0.1 * d2, 1e-12, "step 2");
}

TEST(BlendRuleTest, WeightDecayAndTermsFollowTheSchedule) {
  // cosine over 2 steps with final fraction 0.5: factors 1 then 0.75.
  auto rule = make_update_rule("blend",
                               {{"learning_rate", 0.5},
                                {"weight_decay", 0.2},
                                {"weight_adam", 0.0},
                                {"weight_gradient", 1.0},
                                {"schedule", std::string("cosine")},
                                {"final_lr_fraction", 0.5}},
                               2);
  Eigen::VectorXd p = vec({2.0});
  rule->reset(1);
  rule->step(p, vec({0.0}), 1);  // zero gradient: only the decay acts
  EXPECT_NEAR(p(0), 2.0 * (1.0 - 0.5 * 0.2), 1e-12);
  rule->step(p, vec({1.0}), 2);
  const double lr2 = 0.5 * 0.75;
  EXPECT_NEAR(p(0), 1.8 * (1.0 - lr2 * 0.2) - lr2 * 1.0, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Clipping
// ---------------------------------------------------------------------------------------------

ParameterSet sgd_like(double clip_norm) {
  return {{"learning_rate", 0.1}, {"weight_adam", 0.0}, {"weight_gradient", 1.0}, {"clip_norm", clip_norm}};
}

TEST(BlendRuleTest, ClippingScalesLongGradientsToClipNorm) {
  Eigen::VectorXd p = vec({0.0, 0.0});
  auto clipped = make_update_rule("blend", sgd_like(1.0), 10);
  clipped->reset(2);
  clipped->step(p, vec({3.0, 4.0}), 1);  // |g| = 5 > 1: g becomes (0.6, 0.8)
  expect_vector_near(p, vec({-0.06, -0.08}), 1e-15, "clipped");

  p.setZero();
  clipped->step(p, vec({0.3, 0.4}), 2);  // |g| = 0.5 <= 1: untouched
  EXPECT_EQ(p, vec({-0.1 * 0.3, -0.1 * 0.4}));

  auto unclipped = make_update_rule("blend", sgd_like(0.0), 10);  // 0 = off
  p.setZero();
  unclipped->reset(2);
  unclipped->step(p, vec({3.0, 4.0}), 1);
  EXPECT_EQ(p, vec({-0.1 * 3.0, -0.1 * 4.0}));
}

TEST(BlendRuleTest, ClippingComesBeforeTheBuffers) {
  // The velocity accumulates clipped gradients: v = (0.6, 0.8), then 0.9 v + (0, -1) = (0.54, -0.28).
  auto rule = make_update_rule(
      "blend", {{"learning_rate", 0.1}, {"weight_adam", 0.0}, {"weight_momentum", 1.0}, {"clip_norm", 1.0}}, 10);
  Eigen::VectorXd p = vec({0.0, 0.0});
  rule->reset(2);
  rule->step(p, vec({3.0, 4.0}), 1);
  rule->step(p, vec({0.0, -10.0}), 2);
  expect_vector_near(p, vec({-0.1 * (0.6 + 0.54), -0.1 * (0.8 - 0.28)}), 1e-15, "momentum of clipped gradients");
}

TEST(BlendRuleTest, ClippingHandlesAGradientWhoseSquaredNormOverflows) {
  // |g|^2 = 2e600 overflows; the clipped gradient is still (sqrt 2, -sqrt 2) for clip_norm 2.
  auto rule = make_update_rule("blend", sgd_like(2.0), 10);
  Eigen::VectorXd p = vec({0.0, 0.0});
  rule->reset(2);
  rule->step(p, vec({1e300, -1e300}), 1);
  expect_vector_near(p, vec({-0.1 * std::sqrt(2.0), 0.1 * std::sqrt(2.0)}), 1e-15, "huge gradient");
}

// ---------------------------------------------------------------------------------------------
// Non-finite values
// ---------------------------------------------------------------------------------------------

ParameterSet all_terms(double weight, double learning_rate) {
  return {{"learning_rate", learning_rate}, {"weight_gradient", weight}, {"weight_momentum", weight},
          {"weight_nesterov", weight},      {"weight_adam", weight},     {"weight_signsgd", weight},
          {"weight_signum", weight},        {"weight_lion", weight},     {"momentum", 0.99}};
}

TEST(BlendRuleTest, ExplodingWeightsEndTheInnerLoopAsDiverged) {
  TaskFamilySpec spec;
  spec.kind = TaskKind::quadratic;
  spec.dimension = 10;
  spec.condition_number = 100.0;
  const auto task = make_task_family(spec)->sample(7);
  const std::vector<ParameterSet> settings = {
      all_terms(2.0, 10.0),                                                        // far too long steps
      with(all_terms(-2.0, 10.0), {{"clip_norm", 1.0}}),                           // ascent, clipped
      {{"learning_rate", 10.0}, {"weight_adam", 0.0}, {"weight_gradient", -2.0}},  // plain ascent
      {{"learning_rate", 10.0}, {"weight_adam", 0.0}, {"weight_momentum", 2.0}, {"momentum", 0.99}},
  };
  for (std::size_t i = 0; i < settings.size(); ++i) {
    auto rule = make_update_rule("blend", settings[i], 200);
    LearningCurve curve;
    EXPECT_NO_THROW(curve = run_inner_loop(*rule, *task, {200, 1e3})) << "setting " << i;
    EXPECT_TRUE(curve.diverged) << "setting " << i;
    EXPECT_LT(curve.steps(), 200) << "setting " << i;
  }
}

TEST(BlendRuleTest, NonFiniteGradientsGiveNonFiniteParametersWithoutThrowing) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const double clip_norm : {0.0, 1.0}) {
    auto rule = make_update_rule("blend", with(all_terms(1.0, 0.1), {{"clip_norm", clip_norm}}), 10);
    Eigen::VectorXd p = vec({1.0, 2.0, 3.0});
    rule->reset(3);
    EXPECT_NO_THROW(rule->step(p, vec({inf, 1.0, 0.0}), 1));
    EXPECT_NO_THROW(rule->step(p, vec({nan, -inf, 1.0}), 2));
    EXPECT_FALSE(p.allFinite()) << "clip_norm " << clip_norm;
  }
}

TEST(BlendRuleTest, EveryTermAloneDescendsOnAQuadratic) {
  TaskFamilySpec spec;
  spec.kind = TaskKind::quadratic;
  spec.dimension = 10;
  spec.condition_number = 10.0;
  const auto task = make_task_family(spec)->sample(11);
  // Sign terms move every coordinate by lr_t, so they get a small rate and a decaying schedule.
  const std::vector<std::pair<std::string, double>> terms = {
      {"weight_gradient", 0.05}, {"weight_momentum", 0.01}, {"weight_nesterov", 0.01}, {"weight_adam", 0.05},
      {"weight_signsgd", 0.02},  {"weight_signum", 0.02},   {"weight_lion", 0.02}};
  for (const auto& [weight, learning_rate] : terms) {
    ParameterSet setting = {
        {"learning_rate", learning_rate}, {"weight_adam", 0.0}, {"schedule", std::string("cosine")}};
    setting[weight] = 1.0;  // after weight_adam, so the adam case sets it to 1
    auto rule = make_update_rule("blend", setting, 300);
    const LearningCurve curve = run_inner_loop(*rule, *task, {300, 1e3});
    EXPECT_FALSE(curve.diverged) << weight;
    EXPECT_LT(curve.losses.back(), 0.05 * curve.losses.front()) << weight;
  }
}

// ---------------------------------------------------------------------------------------------
// State, sizes, table
// ---------------------------------------------------------------------------------------------

TEST(BlendRuleTest, ResetClearsTheStateAndSizesAreChecked) {
  auto rule = make_update_rule("blend", with(all_terms(0.5, 0.1), {{"clip_norm", 1.0}}), 10);
  Eigen::VectorXd fresh = p0;
  rule->reset(3);
  rule->step(fresh, g1, 1);
  Eigen::VectorXd used = p0;
  rule->step(used, g2, 2);
  rule->reset(3);
  used = p0;
  rule->step(used, g1, 1);
  EXPECT_EQ(used, fresh);

  rule->reset(2);  // a new size is fine after reset
  Eigen::VectorXd two = vec({1.0, 2.0});
  EXPECT_NO_THROW(rule->step(two, vec({0.1, 0.2}), 1));
  EXPECT_THROW(rule->step(two, vec({0.1, 0.2, 0.3}), 2), Error);
  Eigen::VectorXd three = p0;
  EXPECT_THROW(rule->step(three, vec({0.1, 0.2}), 2), Error);
}

TEST(BlendRuleTest, IsListedAfterLionWithItsHyperparameters) {
  const std::vector<std::string> families = update_rule_families();
  const auto lion = std::find(families.begin(), families.end(), "lion");
  ASSERT_NE(lion, families.end());
  ASSERT_NE(lion + 1, families.end());
  EXPECT_EQ(*(lion + 1), "blend");

  const std::vector<std::string> expected = {
      "learning_rate",  "weight_gradient", "weight_momentum", "weight_nesterov",  "weight_adam",
      "weight_signsgd", "weight_signum",   "weight_lion",     "momentum",         "beta1",
      "beta2",          "epsilon",         "lion_beta1",      "lion_beta2",       "clip_norm",
      "weight_decay",   "schedule",        "warmup_fraction", "final_lr_fraction"};
  std::vector<std::string> names;
  for (const HyperparameterInfo& info : update_rule_hyperparameters("blend")) {
    names.push_back(info.name);
    EXPECT_FALSE(info.description.empty()) << info.name;
    EXPECT_LT(info.description.size(), 100u) << info.name;
    EXPECT_LT(info.name.size(), 20u) << info.name;  // `metaevo families` pads names to 20 columns
    if (info.choices.empty()) {
      EXPECT_LE(info.min_value, info.default_value) << info.name;
      EXPECT_LE(info.default_value, info.max_value) << info.name;
    }
    if (info.name.rfind("weight_", 0) == 0 && info.name != "weight_decay") {
      EXPECT_EQ(info.range, "[-2, 2]") << info.name;
    }
  }
  EXPECT_EQ(names, expected);

  const ParameterSet defaults = default_hyperparameters("blend");
  EXPECT_EQ(std::get<double>(defaults.at("weight_adam")), 1.0);
  EXPECT_EQ(std::get<double>(defaults.at("weight_gradient")), 0.0);
  EXPECT_EQ(std::get<double>(defaults.at("learning_rate")), 1e-3);
  EXPECT_EQ(std::get<double>(defaults.at("clip_norm")), 0.0);
  EXPECT_EQ(std::get<double>(defaults.at("weight_decay")), 0.0);
}

TEST(BlendRuleTest, OutOfRangeValuesAreRejected) {
  const std::vector<std::pair<std::string, double>> bad = {
      {"weight_gradient", 2.5}, {"weight_lion", -2.01}, {"momentum", 1.0},     {"lion_beta1", 1.0},
      {"lion_beta2", -0.1},     {"clip_norm", -1.0},    {"weight_decay", 1.5}, {"epsilon", 0.0}};
  for (const auto& [name, value] : bad) {
    try {
      make_update_rule("blend", {{name, value}}, 10);
      ADD_FAILURE() << name << " = " << value << " was accepted";
    } catch (const ConfigError& error) {
      EXPECT_TRUE(contains(error.what(), "\"" + name + "\"")) << error.what();
      EXPECT_TRUE(contains(error.what(), "blend")) << error.what();
    }
  }
  EXPECT_NO_THROW(make_update_rule("blend", {{"weight_gradient", -2.0}, {"weight_lion", 2.0}, {"clip_norm", 1e6}}, 10));
  EXPECT_THROW(make_update_rule("blend", {{"alpha", 0.9}}, 10), ConfigError);
}

// ---------------------------------------------------------------------------------------------
// Configs and the command
// ---------------------------------------------------------------------------------------------

constexpr const char* blend_config = R"([run]
seed = 5
generations = 2

[update_rule]
family = "blend"

[update_rule.genes]
learning_rate = { kind = "log_real", low = 1e-4, high = 1e-1 }
weight_gradient = { kind = "real", low = 0, high = 2, group = "weights" }
weight_adam = { kind = "real", low = -1, high = 1, group = "weights" }
weight_lion = { kind = "real", low = 0, high = 1, group = "weights" }
clip_norm = { kind = "log_real", low = 0.1, high = 100 }

[update_rule.fixed]
weight_momentum = 0.5
lion_beta1 = 0.8
schedule = "cosine"

[[tasks]]
family = "quadratic"
dimension = 5
)";

TEST(BlendConfigTest, BlendGenesParseAndCheckListsThem) {
  const RunConfig config = parse_config(blend_config, "blend.toml");
  EXPECT_EQ(config.update_rule.family, "blend");
  std::vector<std::string> genes;
  for (const GeneSpec& gene : config.update_rule.genes) genes.push_back(gene.name);
  EXPECT_EQ(genes,
            (std::vector<std::string>{"learning_rate", "weight_gradient", "weight_adam", "weight_lion", "clip_norm"}));
  EXPECT_EQ(config.update_rule.genes[2].low, -1.0);
  EXPECT_EQ(std::get<double>(config.update_rule.fixed.at("weight_momentum")), 0.5);

  TemporaryPath file(".toml");
  std::ofstream(file.path()) << blend_config;
  const auto check = run_command(std::string(METAEVO_CLI_PATH) + " check " + file.string());
  EXPECT_EQ(check.exit_status, 0) << check.output;
  for (const char* expected : {"valid", "blend", "weight_gradient", "weight_adam", "weight_lion", "clip_norm"})
    EXPECT_TRUE(contains(check.output, expected)) << expected << "\n" << check.output;
}

TEST(BlendConfigTest, WeightGeneBoundsMustLieInTheWeightRange) {
  std::string text = blend_config;
  text.replace(text.find("low = 0, high = 2"), 17, "low = 0, high = 3");
  try {
    parse_config(text, "blend.toml");
    ADD_FAILURE() << "a weight gene up to 3 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_TRUE(contains(error.what(), "weight_gradient")) << error.what();
    EXPECT_TRUE(contains(error.what(), "[-2, 2]")) << error.what();
  }
}

TEST(BlendConfigTest, ExampleExperimentIsValidAndFamiliesListsBlend) {
  const std::filesystem::path example =
      std::filesystem::path(METAEVO_SOURCE_DIR) / "experiments" / "blend" / "blend_quadratic_logistic_mlp.toml";
  const RunConfig config = load_config(example);
  EXPECT_EQ(config.update_rule.family, "blend");
  EXPECT_GE(config.update_rule.genes.size(), 8u);
  const auto check = run_command(std::string(METAEVO_CLI_PATH) + " check " + example.string());
  EXPECT_EQ(check.exit_status, 0) << check.output;

  const auto families = run_command(std::string(METAEVO_CLI_PATH) + " families");
  EXPECT_EQ(families.exit_status, 0) << families.output;
  for (const char* expected : {"  blend: ", "    weight_signum ", "    clip_norm ", "number in [-2, 2]"})
    EXPECT_TRUE(contains(families.output, expected)) << expected << "\n" << families.output;
}

}  // namespace
}  // namespace metaevo
