#include "metaevo/evaluation/inner_loop.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "metaevo/core/error.hpp"

namespace metaevo {
namespace {

// f(x) = 0.5 |x|^2 starting at (1, -2): simple enough to follow step by step.
class HalfSquaredNorm final : public Task {
 public:
  Eigen::Index dimension() const override { return 2; }
  Eigen::VectorXd initial_parameters() const override { return Eigen::Vector2d(1.0, -2.0); }
  double loss(const Eigen::VectorXd& p) const override { return 0.5 * p.squaredNorm(); }
  double loss_and_gradient(const Eigen::VectorXd& p, Eigen::VectorXd& g) const override {
    g = p;
    return loss(p);
  }
};

class ScaleRule final : public UpdateRule {
 public:
  explicit ScaleRule(double factor) : factor_(factor) {}
  std::string_view family() const override { return "scale"; }
  void reset(Eigen::Index) override { ++resets; }
  void step(Eigen::VectorXd& p, const Eigen::VectorXd& g, const StepContext& context) override {
    last_t = context.t;
    seen_losses.push_back(context.loss);
    seen_progress.push_back(context.progress());
    seen_tensor_sizes.assign(context.tensor_sizes.begin(), context.tensor_sizes.end());
    p -= factor_ * g;
  }
  int resets = 0;
  std::int64_t last_t = 0;
  std::vector<double> seen_losses;
  std::vector<double> seen_progress;
  std::vector<Eigen::Index> seen_tensor_sizes;

 private:
  double factor_;
};

class NanRule final : public UpdateRule {
 public:
  std::string_view family() const override { return "nan"; }
  void reset(Eigen::Index) override {}
  void step(Eigen::VectorXd& p, const Eigen::VectorXd&, const StepContext& context) override {
    if (context.t == 3) p(0) = std::numeric_limits<double>::quiet_NaN();
  }
};

/// Two tensors (sizes 1 and 1), or a wrong split when `broken`.
class TwoTensorTask final : public Task {
 public:
  explicit TwoTensorTask(bool broken) : broken_(broken) {}
  Eigen::Index dimension() const override { return 2; }
  Eigen::VectorXd initial_parameters() const override { return Eigen::Vector2d(1.0, -2.0); }
  double loss(const Eigen::VectorXd& p) const override { return 0.5 * p.squaredNorm(); }
  double loss_and_gradient(const Eigen::VectorXd& p, Eigen::VectorXd& g) const override {
    g = p;
    return loss(p);
  }
  std::vector<Eigen::Index> tensor_sizes() const override {
    return broken_ ? std::vector<Eigen::Index>{1, 2} : std::vector<Eigen::Index>{1, 1};
  }

 private:
  bool broken_;
};

TEST(InnerLoop, TellsTheRuleTheLossTheProgressAndTheTensors) {
  TwoTensorTask task(false);
  ScaleRule rule(0.5);
  const LearningCurve curve = run_inner_loop(rule, task, {4, 1e3});
  ASSERT_EQ(rule.seen_losses.size(), 4u);
  for (std::size_t t = 0; t < 4; ++t) {
    EXPECT_EQ(rule.seen_losses[t], curve.losses[t]) << "step " << t + 1 << " sees the loss its gradient came with";
    EXPECT_DOUBLE_EQ(rule.seen_progress[t], static_cast<double>(t + 1) / 4.0);
  }
  EXPECT_EQ(rule.seen_tensor_sizes, (std::vector<Eigen::Index>{1, 1}));
  HalfSquaredNorm one_tensor;
  ScaleRule other(0.5);
  run_inner_loop(other, one_tensor, {2, 1e3});
  EXPECT_EQ(other.seen_tensor_sizes, (std::vector<Eigen::Index>{2}));
}

TEST(InnerLoop, RefusesTensorSizesThatDoNotAddUp) {
  TwoTensorTask task(true);
  ScaleRule rule(0.5);
  try {
    run_inner_loop(rule, task, {2, 1e3});
    FAIL() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("tensor_sizes() sum to 3, but the task has 2 parameters"), std::string::npos)
        << error.what();
  }
}

TEST(InnerLoop, RecordsInitialAndEveryStepLoss) {
  HalfSquaredNorm task;
  ScaleRule rule(0.5);  // halves the parameters each step, so the loss quarters
  const LearningCurve curve = run_inner_loop(rule, task, {4, 1e3});
  ASSERT_EQ(curve.losses.size(), 5u);
  EXPECT_FALSE(curve.diverged);
  EXPECT_EQ(curve.steps(), 4);
  EXPECT_EQ(rule.resets, 1);
  EXPECT_EQ(rule.last_t, 4);
  EXPECT_DOUBLE_EQ(curve.losses[0], 2.5);
  for (std::size_t t = 1; t < curve.losses.size(); ++t) EXPECT_DOUBLE_EQ(curve.losses[t], curve.losses[t - 1] / 4.0);
}

TEST(InnerLoop, StopsAsDivergedOnNan) {
  HalfSquaredNorm task;
  NanRule rule;
  const LearningCurve curve = run_inner_loop(rule, task, {10, 1e3});
  EXPECT_TRUE(curve.diverged);
  EXPECT_EQ(curve.steps(), 3);
  EXPECT_TRUE(std::isnan(curve.losses.back()));
}

TEST(InnerLoop, StopsAsDivergedOnExplosion) {
  HalfSquaredNorm task;
  ScaleRule rule(-2.0);  // triples the parameters: loss x9 per step, past 100x at step 3
  const LearningCurve curve = run_inner_loop(rule, task, {10, 100.0});
  EXPECT_TRUE(curve.diverged);
  EXPECT_EQ(curve.steps(), 3);
}

}  // namespace
}  // namespace metaevo

namespace metaevo {
namespace {

TEST(InnerLoop, StopsAsTimedOutPastTheDeadline) {
  HalfSquaredNorm task;
  ScaleRule rule(0.0);  // never converges, never diverges
  InnerLoopOptions options{1000, 1e3};
  options.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);  // already past
  const LearningCurve curve = run_inner_loop(rule, task, options);
  EXPECT_TRUE(curve.timed_out);
  EXPECT_FALSE(curve.diverged);
  EXPECT_EQ(curve.steps(), 1);  // checked after every step
}

}  // namespace
}  // namespace metaevo
