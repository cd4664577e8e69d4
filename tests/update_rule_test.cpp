#include "metaevo/rules/update_rule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "metaevo/core/error.hpp"

namespace metaevo {
namespace {

/// The built-in families: registered first, before any a test adds (tests/registry_test.cpp
/// registers more in the same process).
std::vector<std::string> builtin_families() {
  std::vector<std::string> names = update_rule_families();
  names.resize(std::min<std::size_t>(names.size(), 8));
  return names;
}

constexpr double tolerance = 1e-12;

Eigen::VectorXd vec(std::initializer_list<double> values) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double x : values) v(i++) = x;
  return v;
}

std::unique_ptr<UpdateRule> make_rule(std::string_view family, ParameterSet hyperparameters,
                                      std::int64_t inner_steps = 100) {
  auto rule = make_update_rule(family, hyperparameters, inner_steps);
  EXPECT_EQ(rule->family(), family);
  return rule;
}

void expect_vector_near(const Eigen::VectorXd& actual, const Eigen::VectorXd& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (Eigen::Index i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual(i), expected(i), tolerance) << what << ", coordinate " << i;
}

/// The ConfigError message of make_update_rule, or "" if it did not throw.
std::string config_error_of(std::string_view family, const ParameterSet& hyperparameters,
                            std::int64_t inner_steps = 10) {
  try {
    make_update_rule(family, hyperparameters, inner_steps);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The gradients fed in the hand-computed tests: known and independent of the parameters.
const Eigen::VectorXd p0 = vec({1.0, -2.0});
const Eigen::VectorXd g1 = vec({0.5, -1.0});
const Eigen::VectorXd g2 = vec({-0.25, 2.0});

// ---------------------------------------------------------------------------------------------
// Hand-computed steps
// ---------------------------------------------------------------------------------------------

TEST(UpdateRuleTest, SgdTwoSteps) {
  auto rule = make_rule("sgd", {{"learning_rate", 0.1}});
  Eigen::VectorXd p = p0;
  rule->reset(2);
  rule->step(p, g1, 1);
  expect_vector_near(p, vec({1.0 - 0.1 * 0.5, -2.0 + 0.1 * 1.0}), "step 1");  // 0.95, -1.9
  rule->step(p, g2, 2);
  expect_vector_near(p, vec({0.95 + 0.1 * 0.25, -1.9 - 0.1 * 2.0}), "step 2");  // 0.975, -2.1
}

TEST(UpdateRuleTest, MomentumTwoSteps) {
  auto rule = make_rule("momentum", {{"learning_rate", 0.1}, {"momentum", 0.9}});
  Eigen::VectorXd p = p0;
  rule->reset(2);
  rule->step(p, g1, 1);  // v = g1 = (0.5, -1)
  expect_vector_near(p, vec({0.95, -1.9}), "step 1");
  rule->step(p, g2, 2);  // v = 0.9 (0.5, -1) + (-0.25, 2) = (0.2, 1.1)
  expect_vector_near(p, vec({0.95 - 0.1 * 0.2, -1.9 - 0.1 * 1.1}), "step 2");  // 0.93, -2.01
}

TEST(UpdateRuleTest, NesterovTwoSteps) {
  auto rule = make_rule("nesterov", {{"learning_rate", 0.1}, {"momentum", 0.9}});
  Eigen::VectorXd p = p0;
  rule->reset(2);
  // v = (0.5, -1); step along g + 0.9 v = (0.95, -1.9).
  rule->step(p, g1, 1);
  expect_vector_near(p, vec({1.0 - 0.1 * 0.95, -2.0 + 0.1 * 1.9}), "step 1");  // 0.905, -1.81
  // v = (0.2, 1.1); g + 0.9 v = (-0.25 + 0.18, 2 + 0.99) = (-0.07, 2.99).
  rule->step(p, g2, 2);
  expect_vector_near(p, vec({0.905 + 0.1 * 0.07, -1.81 - 0.1 * 2.99}), "step 2");  // 0.912, -2.109
}

TEST(UpdateRuleTest, AdamThreeSteps) {
  auto rule = make_rule("adam", {{"learning_rate", 0.1}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}});
  // Coordinate 0 sees 0.5, -0.25, 1.0; coordinate 1 a zero gradient; coordinate 2 a constant -4.
  Eigen::VectorXd p = vec({1.0, 3.0, 0.0});
  rule->reset(3);

  rule->step(p, vec({0.5, 0.0, -4.0}), 1);
  // m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 0.00025; m^ = 0.05 / 0.1 = 0.5, v^ = 0.00025 / 0.001 = 0.25.
  const double p1 = 1.0 - 0.1 * 0.5 / (std::sqrt(0.25) + 1e-8);
  // Constant gradient: m^ = g and v^ = g^2 exactly, so each step is lr * 4 / (4 + eps).
  const double constant_step = 0.1 * 4.0 / (4.0 + 1e-8);
  expect_vector_near(p, vec({p1, 3.0, constant_step}), "step 1");

  rule->step(p, vec({-0.25, 0.0, -4.0}), 2);
  // m = 0.9 * 0.05 + 0.1 * (-0.25) = 0.02; v = 0.999 * 0.00025 + 0.001 * 0.0625 = 0.00031225;
  // 1 - 0.9^2 = 0.19, 1 - 0.999^2 = 0.001999.
  const double p2 = p1 - 0.1 * (0.02 / 0.19) / (std::sqrt(0.00031225 / 0.001999) + 1e-8);
  expect_vector_near(p, vec({p2, 3.0, 2.0 * constant_step}), "step 2");

  rule->step(p, vec({1.0, 0.0, -4.0}), 3);
  // m = 0.9 * 0.02 + 0.1 * 1 = 0.118; v = 0.999 * 0.00031225 + 0.001 * 1 = 0.00131193775;
  // 1 - 0.9^3 = 0.271, 1 - 0.999^3 = 0.002997001.
  const double p3 = p2 - 0.1 * (0.118 / 0.271) / (std::sqrt(0.00131193775 / 0.002997001) + 1e-8);
  expect_vector_near(p, vec({p3, 3.0, 3.0 * constant_step}), "step 3");
}

TEST(UpdateRuleTest, AdamBiasCorrectionMakesTheFirstStepTheLearningRate) {
  // Without the correction the first step would be lr * 0.1 / sqrt(0.001) ~ 3.16 lr.
  auto rule = make_rule("adam", {{"learning_rate", 0.01}});
  Eigen::VectorXd p = vec({0.0, 0.0, 0.0});
  rule->reset(3);
  rule->step(p, vec({1e-3, -1e3, 7.0}), 1);
  EXPECT_NEAR(p(0), -0.01 * 1e-3 / (1e-3 + 1e-8), tolerance);
  EXPECT_NEAR(p(1), 0.01 * 1e3 / (1e3 + 1e-8), tolerance);
  EXPECT_NEAR(p(2), -0.01 * 7.0 / (7.0 + 1e-8), tolerance);
}

TEST(UpdateRuleTest, AdamWTwoSteps) {
  auto rule = make_rule("adamw", {{"learning_rate", 0.1}, {"weight_decay", 0.1}});
  Eigen::VectorXd p = p0;
  rule->reset(2);
  rule->step(p, g1, 1);
  // Decay by 1 - 0.1 * 0.1 = 0.99, then Adam's first step lr * g / (|g| + eps).
  const double a1 = 0.99 * 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
  const double b1 = 0.99 * -2.0 + 0.1 * 1.0 / (1.0 + 1e-8);
  expect_vector_near(p, vec({a1, b1}), "step 1");
  rule->step(p, g2, 2);
  // Coordinate 0: m = 0.02, v = 0.00031225 (as in AdamThreeSteps).
  // Coordinate 1: m = 0.9 * (-0.1) + 0.1 * 2 = 0.11, v = 0.999 * 0.001 + 0.001 * 4 = 0.004999.
  const double a2 = 0.99 * a1 - 0.1 * (0.02 / 0.19) / (std::sqrt(0.00031225 / 0.001999) + 1e-8);
  const double b2 = 0.99 * b1 - 0.1 * (0.11 / 0.19) / (std::sqrt(0.004999 / 0.001999) + 1e-8);
  expect_vector_near(p, vec({a2, b2}), "step 2");
}

TEST(UpdateRuleTest, AdamWDiffersFromAdamExactlyByDecoupledDecay) {
  const double lr = 0.05, wd = 0.2;
  auto adam = make_rule("adam", {{"learning_rate", lr}});
  auto adamw = make_rule("adamw", {{"learning_rate", lr}, {"weight_decay", wd}});
  Eigen::VectorXd p_adam = vec({1.0, -2.0, 0.3});
  Eigen::VectorXd p_adamw = p_adam;
  adam->reset(3);
  adamw->reset(3);
  const std::vector<Eigen::VectorXd> gradients = {vec({0.5, -1.0, 0.0}), vec({-0.25, 2.0, 1.0}),
                                                  vec({1.0, 0.1, -3.0}), vec({0.2, 0.2, 0.2})};
  for (std::size_t i = 0; i < gradients.size(); ++i) {
    const auto t = static_cast<std::int64_t>(i + 1);
    const Eigen::VectorXd adam_before = p_adam, adamw_before = p_adamw;
    adam->step(p_adam, gradients[i], t);
    adamw->step(p_adamw, gradients[i], t);
    // Same moments (they only see g), so the Adam part of both steps is the same vector.
    const Eigen::VectorXd adam_update = p_adam - adam_before;
    const Eigen::VectorXd adamw_update = p_adamw - adamw_before * (1.0 - lr * wd);
    expect_vector_near(adamw_update, adam_update, "step " + std::to_string(t));
  }
  // And with no decay the two are the same rule.
  auto undecayed = make_rule("adamw", {{"learning_rate", lr}, {"weight_decay", 0.0}});
  auto plain = make_rule("adam", {{"learning_rate", lr}});
  Eigen::VectorXd a = vec({1.0, -2.0}), b = a;
  undecayed->reset(2);
  plain->reset(2);
  undecayed->step(a, g1, 1);
  plain->step(b, g1, 1);
  EXPECT_EQ(a, b);
}

TEST(UpdateRuleTest, RmspropTwoSteps) {
  auto rule = make_rule("rmsprop", {{"learning_rate", 0.01}, {"alpha", 0.99}, {"epsilon", 1e-8}});
  Eigen::VectorXd p = p0;
  rule->reset(2);
  rule->step(p, g1, 1);
  // s = 0.01 g^2 = (0.0025, 0.01); sqrt(s) = (0.05, 0.1).
  const double a1 = 1.0 - 0.01 * 0.5 / (0.05 + 1e-8);
  const double b1 = -2.0 + 0.01 * 1.0 / (0.1 + 1e-8);
  expect_vector_near(p, vec({a1, b1}), "step 1");
  rule->step(p, g2, 2);
  // s = (0.99 * 0.0025 + 0.01 * 0.0625, 0.99 * 0.01 + 0.01 * 4) = (0.0031, 0.0499).
  const double a2 = a1 + 0.01 * 0.25 / (std::sqrt(0.0031) + 1e-8);
  const double b2 = b1 - 0.01 * 2.0 / (std::sqrt(0.0499) + 1e-8);
  expect_vector_near(p, vec({a2, b2}), "step 2");
}

TEST(UpdateRuleTest, LionTwoSteps) {
  auto rule = make_rule("lion", {{"learning_rate", 0.1}, {"beta1", 0.9}, {"beta2", 0.99}, {"weight_decay", 0.1}});
  Eigen::VectorXd p = vec({1.0, -2.0, 0.5});
  rule->reset(3);
  rule->step(p, vec({0.5, -1.0, 0.0}), 1);
  // m = 0: u = sign(0.1 g) = (1, -1, 0); p -= 0.1 (u + 0.1 p).
  expect_vector_near(p, vec({1.0 - 0.1 * (1.0 + 0.1), -2.0 - 0.1 * (-1.0 - 0.2), 0.5 - 0.1 * 0.05}), "step 1");
  // = (0.89, -1.88, 0.495); m = 0.01 g = (0.005, -0.01, 0).
  rule->step(p, vec({-0.025, 2.0, 0.0}), 2);
  // 0.9 m + 0.1 g = (0.0045 - 0.0025, -0.009 + 0.2, 0) = (0.002, 0.191, 0): u = (1, 1, 0).
  // Coordinate 0 moves against its current gradient: the momentum outweighs it.
  expect_vector_near(p, vec({0.89 - 0.1 * (1.0 + 0.089), -1.88 - 0.1 * (1.0 - 0.188), 0.495 - 0.1 * 0.0495}),
                     "step 2");
}

TEST(UpdateRuleTest, LionStepsAreSignsWhateverTheGradientScale) {
  auto rule = make_rule("lion", {{"learning_rate", 0.01}});
  Eigen::VectorXd p = vec({0.0, 0.0, 0.0, 0.0});
  rule->reset(4);
  rule->step(p, vec({1e-9, -300.0, 5.0, 0.0}), 1);
  EXPECT_EQ(p, vec({-0.01, 0.01, -0.01, 0.0}));
  const Eigen::VectorXd before = p;
  rule->step(p, vec({2e-9, -1e-6, 1e6, 0.0}), 2);
  const Eigen::VectorXd moved = (p - before).cwiseAbs();
  for (Eigen::Index i = 0; i < 3; ++i) EXPECT_NEAR(moved(i), 0.01, 1e-15) << i;
  EXPECT_EQ(moved(3), 0.0);
}

// ---------------------------------------------------------------------------------------------
// Schedules inside the rules, reset, sizes
// ---------------------------------------------------------------------------------------------

TEST(UpdateRuleTest, ScheduleScalesTheLearningRate) {
  // SGD with lr 1 and gradient -1 moves by exactly the schedule factor each step; T = inner_steps = 4.
  auto rule = make_rule("sgd", {{"learning_rate", 1.0}, {"schedule", std::string("cosine")}}, 4);
  Eigen::VectorXd p = vec({0.0});
  const Eigen::VectorXd g = vec({-1.0});
  rule->reset(1);
  const double pi = std::numbers::pi;
  const std::vector<double> factors = {1.0, 0.5 * (1.0 + std::cos(pi / 4.0)), 0.5, 0.5 * (1.0 + std::cos(3.0 * pi / 4.0)),
                                       0.5 * (1.0 + std::cos(3.0 * pi / 4.0))};  // step 5 keeps step 4's value
  for (std::size_t i = 0; i < factors.size(); ++i) {
    const double before = p(0);
    rule->step(p, g, static_cast<std::int64_t>(i + 1));
    EXPECT_NEAR(p(0) - before, factors[i], tolerance) << "step " << i + 1;
  }

  // warmup_cosine with 10 steps and warmup 0.2: W = 2, so the first step runs at half the rate.
  auto warm = make_rule("sgd",
                        {{"learning_rate", 1.0}, {"schedule", std::string("warmup_cosine")}, {"warmup_fraction", 0.2}},
                        10);
  Eigen::VectorXd q = vec({0.0});
  warm->reset(1);
  warm->step(q, g, 1);
  EXPECT_NEAR(q(0), 0.5, tolerance);
  warm->step(q, g, 2);
  EXPECT_NEAR(q(0), 1.5, tolerance);
}

TEST(UpdateRuleTest, AdamWDecayUsesTheScheduledRate) {
  // Zero gradient: the Adam part is 0 / (0 + eps) = 0, so only the decay p *= 1 - lr_t wd acts.
  auto rule = make_rule("adamw",
                        {{"learning_rate", 0.5}, {"weight_decay", 0.2}, {"schedule", std::string("cosine")},
                         {"final_lr_fraction", 0.5}},
                        2);
  Eigen::VectorXd p = vec({2.0});
  rule->reset(1);
  rule->step(p, vec({0.0}), 1);  // factor 1
  EXPECT_NEAR(p(0), 2.0 * (1.0 - 0.5 * 0.2), tolerance);
  rule->step(p, vec({0.0}), 2);  // factor 0.5 + 0.5 * 0.5 * (1 + cos(pi / 2)) = 0.75
  EXPECT_NEAR(p(0), 2.0 * 0.9 * (1.0 - 0.5 * 0.75 * 0.2), tolerance);
}

TEST(UpdateRuleTest, ResetClearsTheState) {
  for (const std::string& family : builtin_families()) {
    auto rule = make_update_rule(family, {{"learning_rate", 0.1}}, 10);
    Eigen::VectorXd fresh = p0;
    rule->reset(2);
    rule->step(fresh, g1, 1);

    Eigen::VectorXd used = p0;
    rule->step(used, g2, 2);
    rule->step(used, g1, 3);
    rule->reset(2);
    used = p0;
    rule->step(used, g1, 1);
    EXPECT_EQ(used, fresh) << family;

    rule->reset(3);  // a new size is fine after reset
    Eigen::VectorXd three = vec({1.0, 2.0, 3.0});
    EXPECT_NO_THROW(rule->step(three, vec({0.1, 0.2, 0.3}), 1)) << family;
  }
}

TEST(UpdateRuleTest, SizeMismatchIsRejected) {
  for (const std::string& family : builtin_families()) {
    auto rule = make_update_rule(family, {}, 10);
    rule->reset(2);
    Eigen::VectorXd p = vec({1.0, 2.0, 3.0});
    EXPECT_THROW(rule->step(p, vec({1.0, 2.0, 3.0}), 1), Error) << family;
    Eigen::VectorXd q = p0;
    EXPECT_THROW(rule->step(q, vec({1.0}), 1), Error) << family;
  }
}

TEST(UpdateRuleTest, EveryFamilyConvergesOnAQuadratic) {
  // f(x) = 0.5 x^2 from x = 1, gradient x.
  const std::map<std::string, ParameterSet> settings = {
      {"sgd", {{"learning_rate", 0.1}}},
      {"momentum", {{"learning_rate", 0.05}}},
      {"nesterov", {{"learning_rate", 0.05}}},
      {"adam", {{"learning_rate", 0.05}, {"schedule", std::string("cosine")}}},
      {"adamw", {{"learning_rate", 0.05}, {"schedule", std::string("cosine")}}},
      {"rmsprop", {{"learning_rate", 0.01}, {"schedule", std::string("cosine")}}},
      {"lion", {{"learning_rate", 0.02}, {"schedule", std::string("warmup_cosine")}}},
      {"blend", {{"learning_rate", 0.05}, {"schedule", std::string("cosine")}}},  // default weights: Adam
  };
  ASSERT_EQ(settings.size(), builtin_families().size());
  const std::int64_t steps = 500;
  for (const auto& [family, hyperparameters] : settings) {
    auto rule = make_update_rule(family, hyperparameters, steps);
    Eigen::VectorXd x = vec({1.0});
    Eigen::VectorXd gradient(1);
    rule->reset(1);
    for (std::int64_t t = 1; t <= steps; ++t) {
      gradient = x;
      rule->step(x, gradient, t);
    }
    EXPECT_LT(std::abs(x(0)), 1e-2) << family << " ended at x = " << x(0);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

TEST(UpdateRuleTest, UnknownFamilyListsTheKnownOnes) {
  const std::string message = config_error_of("adagrad", {});
  EXPECT_TRUE(contains(message, "adagrad")) << message;
  for (const std::string& family : builtin_families()) EXPECT_TRUE(contains(message, family)) << message;
  EXPECT_THROW(update_rule_hyperparameters("adagrad"), ConfigError);
  EXPECT_THROW(default_hyperparameters("Adam"), ConfigError);
}

TEST(UpdateRuleTest, UnknownHyperparameterIsNamedWithTheValidOnes) {
  const std::string message = config_error_of("adam", {{"momentum", 0.9}});
  EXPECT_TRUE(contains(message, "\"momentum\"")) << message;
  EXPECT_TRUE(contains(message, "beta1")) << message;
  EXPECT_TRUE(contains(message, "final_lr_fraction")) << message;
  EXPECT_TRUE(contains(config_error_of("sgd", {{"weight_decay", 0.0}}), "weight_decay"));
  EXPECT_TRUE(contains(config_error_of("lion", {{"epsilon", 1e-8}}), "epsilon"));
  EXPECT_TRUE(contains(config_error_of("rmsprop", {{"lr", 0.1}}), "\"lr\""));
}

TEST(UpdateRuleTest, OutOfRangeValuesAreRejectedWithNameRangeAndValue) {
  struct Case {
    std::string family, name;
    double value;
    std::string range, shown;
  };
  const std::vector<Case> cases = {
      {"sgd", "learning_rate", 0.0, "(0, 10]", "0"},
      {"sgd", "learning_rate", -0.1, "(0, 10]", "-0.1"},
      {"adam", "learning_rate", 10.5, "(0, 10]", "10.5"},
      {"adam", "beta1", 1.0, "[0, 1)", "1"},
      {"adam", "beta2", -0.5, "[0, 1)", "-0.5"},
      {"adam", "epsilon", 0.0, "(0, 1]", "0"},
      {"momentum", "momentum", 1.0, "[0, 1)", "1"},
      {"nesterov", "momentum", -1e-3, "[0, 1)", "-0.001"},
      {"rmsprop", "alpha", 1.5, "[0, 1)", "1.5"},
      {"adamw", "weight_decay", 1.25, "[0, 1]", "1.25"},
      {"lion", "weight_decay", -0.01, "[0, 1]", "-0.01"},
      {"lion", "beta2", 1.0, "[0, 1)", "1"},
      {"sgd", "warmup_fraction", 0.995, "[0, 0.99]", "0.995"},
      {"adam", "final_lr_fraction", 1.5, "[0, 1]", "1.5"},
      {"adam", "beta1", std::numeric_limits<double>::quiet_NaN(), "[0, 1)", "nan"},
      {"sgd", "learning_rate", std::numeric_limits<double>::infinity(), "(0, 10]", "inf"},
  };
  for (const Case& c : cases) {
    const std::string message = config_error_of(c.family, {{c.name, c.value}});
    EXPECT_TRUE(contains(message, "\"" + c.name + "\"")) << c.family << "." << c.name << ": " << message;
    EXPECT_TRUE(contains(message, c.range)) << message;
    EXPECT_TRUE(contains(message, "got " + c.shown)) << message;
    EXPECT_TRUE(contains(message, c.family)) << message;
  }
  EXPECT_TRUE(contains(config_error_of("adam", {{"beta1", std::int64_t{2}}}), "beta1"));
}

TEST(UpdateRuleTest, RangeBoundsAreAccepted) {
  EXPECT_NO_THROW(make_update_rule("sgd", {{"learning_rate", 10.0}, {"warmup_fraction", 0.99}}, 10));
  EXPECT_NO_THROW(make_update_rule("sgd", {{"learning_rate", 1e-12}, {"final_lr_fraction", 1.0}}, 10));
  EXPECT_NO_THROW(make_update_rule("adam", {{"beta1", 0.0}, {"beta2", 0.0}, {"epsilon", 1.0}}, 10));
  EXPECT_NO_THROW(make_update_rule("adamw", {{"weight_decay", 1.0}, {"beta2", 0.9999999}}, 10));
  EXPECT_NO_THROW(make_update_rule("lion", {{"weight_decay", 0.0}, {"warmup_fraction", 0.0}}, 10));
}

TEST(UpdateRuleTest, WrongValueTypesAreRejected) {
  const std::string number_for_schedule = config_error_of("adam", {{"schedule", 1.0}});
  EXPECT_TRUE(contains(number_for_schedule, "\"schedule\"")) << number_for_schedule;
  EXPECT_TRUE(contains(number_for_schedule, "warmup_cosine")) << number_for_schedule;
  EXPECT_TRUE(contains(config_error_of("sgd", {{"schedule", std::int64_t{0}}}), "schedule"));
  const std::string unknown_choice = config_error_of("sgd", {{"schedule", std::string("linear")}});
  EXPECT_TRUE(contains(unknown_choice, "schedule")) << unknown_choice;
  EXPECT_TRUE(contains(unknown_choice, "linear")) << unknown_choice;
  const std::string string_for_number = config_error_of("adam", {{"beta1", std::string("0.9")}});
  EXPECT_TRUE(contains(string_for_number, "\"beta1\"")) << string_for_number;
  EXPECT_TRUE(contains(string_for_number, "number")) << string_for_number;
}

TEST(UpdateRuleTest, IntegerValuesAreAcceptedForNumbers) {
  auto rule = make_rule("sgd", {{"learning_rate", std::int64_t{1}}});
  Eigen::VectorXd p = p0;
  rule->reset(2);
  rule->step(p, g1, 1);
  expect_vector_near(p, vec({0.5, -1.0}), "lr 1 as an integer");
  EXPECT_NO_THROW(make_update_rule("momentum", {{"momentum", std::int64_t{0}}}, 10));
  EXPECT_NO_THROW(make_update_rule("adamw", {{"weight_decay", std::int64_t{1}}}, 10));
}

TEST(UpdateRuleTest, InnerStepsMustBePositive) {
  const std::string message = config_error_of("sgd", {}, 0);
  EXPECT_TRUE(contains(message, "inner_steps")) << message;
}

// ---------------------------------------------------------------------------------------------
// Defaults and the reference table
// ---------------------------------------------------------------------------------------------

TEST(UpdateRuleTest, FamiliesAreListed) {
  const std::vector<std::string> expected = {"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "lion", "blend"};
  EXPECT_EQ(builtin_families(), expected);
}

TEST(UpdateRuleTest, DefaultsAreTheDocumentedOnes) {
  const std::map<std::string, std::map<std::string, double>> expected = {
      {"sgd", {{"learning_rate", 1e-2}}},
      {"momentum", {{"learning_rate", 1e-2}, {"momentum", 0.9}}},
      {"nesterov", {{"learning_rate", 1e-2}, {"momentum", 0.9}}},
      {"adam", {{"learning_rate", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}}},
      {"adamw",
       {{"learning_rate", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"epsilon", 1e-8}, {"weight_decay", 1e-2}}},
      {"rmsprop", {{"learning_rate", 1e-2}, {"alpha", 0.99}, {"epsilon", 1e-8}}},
      {"lion", {{"learning_rate", 1e-4}, {"beta1", 0.9}, {"beta2", 0.99}, {"weight_decay", 0.0}}},
  };
  for (const auto& [family, numbers] : expected) {
    const ParameterSet defaults = default_hyperparameters(family);
    EXPECT_EQ(defaults.size(), numbers.size() + 3) << family;  // + schedule, warmup_fraction, final_lr_fraction
    for (const auto& [name, value] : numbers) {
      ASSERT_TRUE(defaults.contains(name)) << family << "." << name;
      ASSERT_TRUE(std::holds_alternative<double>(defaults.at(name))) << family << "." << name;
      EXPECT_EQ(std::get<double>(defaults.at(name)), value) << family << "." << name;
    }
    ASSERT_TRUE(defaults.contains("schedule")) << family;
    EXPECT_EQ(std::get<std::string>(defaults.at("schedule")), "constant") << family;
    EXPECT_EQ(std::get<double>(defaults.at("warmup_fraction")), 0.1) << family;
    EXPECT_EQ(std::get<double>(defaults.at("final_lr_fraction")), 0.0) << family;
    // The defaults are themselves valid.
    EXPECT_NO_THROW(make_update_rule(family, defaults, 10)) << family;
  }
}

TEST(UpdateRuleTest, ReferenceTableIsComplete) {
  for (const std::string& family : builtin_families()) {
    const auto& infos = update_rule_hyperparameters(family);
    ASSERT_FALSE(infos.empty()) << family;
    EXPECT_EQ(infos.front().name, "learning_rate") << family;
    std::size_t categoricals = 0;
    for (const HyperparameterInfo& info : infos) {
      EXPECT_FALSE(info.description.empty()) << family << "." << info.name;
      EXPECT_EQ(info.description.find('\n'), std::string::npos) << family << "." << info.name;
      EXPECT_LT(info.description.size(), 100u) << family << "." << info.name;
      if (info.choices.empty()) {
        EXPECT_LE(info.min_value, info.default_value) << family << "." << info.name;
        EXPECT_LE(info.default_value, info.max_value) << family << "." << info.name;
        EXPECT_FALSE(info.range.empty()) << family << "." << info.name;
      } else {
        ++categoricals;
        EXPECT_EQ(info.name, "schedule");
        const std::vector<std::string> choices = {"constant", "cosine", "warmup_cosine"};
        EXPECT_EQ(info.choices, choices);
        EXPECT_EQ(info.default_choice, "constant");
      }
    }
    EXPECT_EQ(categoricals, 1u) << family;
    // Open ends are stored as the nearest inclusive value.
    EXPECT_GT(infos.front().min_value, 0.0);
    EXPECT_EQ(infos.front().max_value, 10.0);
  }
  for (const HyperparameterInfo& info : update_rule_hyperparameters("adam")) {
    if (info.name == "beta1") {
      EXPECT_EQ(info.min_value, 0.0);
      EXPECT_LT(info.max_value, 1.0);
      EXPECT_EQ(info.range, "[0, 1)");
    }
  }
}

}  // namespace
}  // namespace metaevo
