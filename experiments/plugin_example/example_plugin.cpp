// A minimal metaevo plugin: one task family ("shifted_ellipsoid") and one update rule
// ("sign_momentum"), registered under their own names when `metaevo run --plugin` loads the module.
#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string_view>

#include "metaevo/core/plugin.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/rules/learning_rate_schedule.hpp"
#include "metaevo/rules/update_rule.hpp"
#include "metaevo/tasks/task.hpp"

namespace {

// 0.5 sum_i s_i (x_i - c_i)^2, the scales s_i spread geometrically over [1, condition_number].
class ShiftedEllipsoidTask final : public metaevo::Task {
 public:
  ShiftedEllipsoidTask(Eigen::VectorXd centre, Eigen::VectorXd scales)
      : centre_(std::move(centre)), scales_(std::move(scales)) {}
  Eigen::Index dimension() const override { return centre_.size(); }
  Eigen::VectorXd initial_parameters() const override { return Eigen::VectorXd::Zero(centre_.size()); }
  double loss(const Eigen::VectorXd& x) const override {
    return 0.5 * (scales_.array() * (x - centre_).array().square()).sum();
  }
  double loss_and_gradient(const Eigen::VectorXd& x, Eigen::VectorXd& gradient) const override {
    gradient = (scales_.array() * (x - centre_).array()).matrix();
    return loss(x);
  }

 private:
  Eigen::VectorXd centre_;
  Eigen::VectorXd scales_;
};

class ShiftedEllipsoidFamily final : public metaevo::TaskFamily {
 public:
  explicit ShiftedEllipsoidFamily(const metaevo::Options& options)
      : dimension_(options.integer("dimension")),
        shift_(options.real("shift")),
        condition_number_(options.real("condition_number")) {}
  std::string_view name() const override { return "shifted_ellipsoid"; }
  std::unique_ptr<metaevo::Task> sample(std::uint64_t seed) const override {
    metaevo::RandomStream stream(seed);  // every draw from the seed: the same task on every rank
    Eigen::VectorXd centre(dimension_);
    Eigen::VectorXd scales(dimension_);
    for (Eigen::Index i = 0; i < dimension_; ++i) {
      centre(i) = shift_ + stream.normal();
      const double position = dimension_ > 1 ? static_cast<double>(i) / static_cast<double>(dimension_ - 1) : 0.0;
      scales(i) = std::pow(condition_number_, position);
    }
    return std::make_unique<ShiftedEllipsoidTask>(std::move(centre), std::move(scales));
  }

 private:
  Eigen::Index dimension_;
  double shift_;
  double condition_number_;
};

// Sign momentum: m <- beta m + (1 - beta) g; p <- p - lr_t sign(m).
class SignMomentumRule final : public metaevo::UpdateRule {
 public:
  SignMomentumRule(double learning_rate, double beta, metaevo::LearningRateSchedule schedule)
      : learning_rate_(learning_rate), beta_(beta), schedule_(schedule) {}
  std::string_view family() const override { return "sign_momentum"; }
  void reset(Eigen::Index dimension) override { momentum_ = Eigen::VectorXd::Zero(dimension); }  // step() must not allocate
  void step(Eigen::VectorXd& p, const Eigen::VectorXd& g, const metaevo::StepContext& context) override {
    momentum_ = beta_ * momentum_ + (1.0 - beta_) * g;
    p.array() -= learning_rate_ * schedule_.factor(context.t) * momentum_.array().sign();
  }

 private:
  double learning_rate_;
  double beta_;
  metaevo::LearningRateSchedule schedule_;
  Eigen::VectorXd momentum_;
};

void register_example_plugin() {
  using namespace metaevo;
  register_task_family({
      .name = "shifted_ellipsoid",
      .help = "0.5 sum s_i (x_i - c_i)^2, c ~ shift + N(0, I), s_i geometric in [1, condition_number], started at 0",
      .options = {integer_option("dimension", 8, NumericRange::closed(1, 1000), "parameters"),
                  real_option("shift", 1.0, NumericRange::closed(-10.0, 10.0), "mean of the centre"),
                  real_option("condition_number", 10.0, NumericRange::closed(1.0, 1e6), "largest scale / smallest")},
      .make = [](const Options& options) -> std::unique_ptr<TaskFamily> {
        return std::make_unique<ShiftedEllipsoidFamily>(options);
      },
  });
  register_update_rule({
      .name = "sign_momentum",
      .help = "m <- beta m + (1 - beta) g; p <- p - lr_t sign(m)",
      .hyperparameters = {
          real_hyperparameter("learning_rate", 0.01, NumericRange::make(0.0, true, 10.0, false), "step size"),
          real_hyperparameter("beta", 0.9, NumericRange::make(0.0, false, 1.0, true), "momentum decay")},
      .make = [](const RuleParameters& p) -> std::unique_ptr<UpdateRule> {
        const ParameterSet& h = p.hyperparameters;
        return std::make_unique<SignMomentumRule>(numeric_parameter(h, "learning_rate"), numeric_parameter(h, "beta"),
                                                  learning_rate_schedule(h, p.inner_steps));
      },
      .architecture = {},
      .definition = {},
      .gene_blocks = {},
  });
}

}  // namespace

METAEVO_PLUGIN(register_example_plugin)
