#include "rules/blend_rule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "metaevo/core/error.hpp"

// blend: every step moves along a weighted sum of update terms, all computed from the clipped
// gradient g (g itself when clip_norm = 0 or |g| <= clip_norm, else g clip_norm / |g|):
//   v <- mu v + g                                   heavy-ball velocity (momentum, nesterov terms)
//   m <- b1 m + (1 - b1) g,  s <- b2 s + (1 - b2) g^2   Adam's moments (adam term)
//   d  = w_gradient g + w_momentum v + w_nesterov (g + mu v)
//      + w_adam (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
//      + w_signsgd sign(g) + w_signum sign(b2l l + (1 - b2l) g) + w_lion sign(b1l l + (1 - b1l) g)
//   p <- p (1 - lr_t wd), then p <- p - lr_t d
//   l <- b2l l + (1 - b2l) g                        Lion's momentum, advanced after the step
// The signum term is the sign of l as advanced this step (Signum); lion reads l from before it.
//
// A term whose weight is exactly 0 is left out rather than multiplied by 0, and buffers only such
// terms read are never kept. That is exact: a finite term times 0 adds nothing, and leaving it out
// also keeps an overflowing unused buffer from turning the step into NaN through 0 * inf. So a
// step costs one pass over n for each buffer and each term in use, the direction's reset and the
// final update, plus the decay (if wd > 0) and the norm and rescaling (if clipping is on).
//
// As in update_rule.cpp, step() is coefficient-wise array expressions assigned into storage sized
// by reset(n), so it never allocates (the inner loop's hot path).

namespace metaevo {

namespace {

struct BlendWeights {
  double gradient;
  double momentum;
  double nesterov;
  double adam;
  double signsgd;
  double signum;
  double lion;
};

struct BlendSettings {
  double learning_rate;
  BlendWeights weights;
  double momentum;
  double beta1;
  double beta2;
  double epsilon;
  double lion_beta1;
  double lion_beta2;
  double clip_norm;     // 0 = no clipping
  double weight_decay;  // decoupled, scaled by the scheduled rate
};

class BlendRule final : public UpdateRule {
 public:
  BlendRule(const BlendSettings& settings, LearningRateSchedule schedule)
      : settings_(settings),
        schedule_(schedule),
        uses_velocity_(settings.weights.momentum != 0.0 || settings.weights.nesterov != 0.0),
        uses_adam_(settings.weights.adam != 0.0),
        uses_lion_momentum_(settings.weights.signum != 0.0 || settings.weights.lion != 0.0) {}

  std::string_view family() const override { return "blend"; }

  void reset(Eigen::Index parameter_count) override {
    parameter_count_ = parameter_count;
    direction_.setZero(parameter_count);
    size_buffer(clipped_gradient_, parameter_count, settings_.clip_norm > 0.0);
    size_buffer(velocity_, parameter_count, uses_velocity_);
    size_buffer(first_moment_, parameter_count, uses_adam_);
    size_buffer(second_moment_, parameter_count, uses_adam_);
    size_buffer(lion_momentum_, parameter_count, uses_lion_momentum_);
  }

  void step(Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context) override {
    const std::int64_t t = context.t;
    check_sizes(parameters, gradient);
    const BlendWeights& w = settings_.weights;
    const double learning_rate = settings_.learning_rate * schedule_.factor(t);
    const Eigen::Map<const Eigen::ArrayXd> g(clip(gradient), parameter_count_);

    direction_.setZero();
    if (w.gradient != 0.0) direction_ += w.gradient * g;
    if (uses_velocity_) {
      velocity_ = settings_.momentum * velocity_ + g;
      if (w.momentum != 0.0) direction_ += w.momentum * velocity_;
      if (w.nesterov != 0.0) direction_ += w.nesterov * (g + settings_.momentum * velocity_);
    }
    if (uses_adam_) {
      // Bias corrections as AdamRule: > 0 since beta < 1 and t >= 1.
      const auto power = static_cast<double>(std::max<std::int64_t>(t, 1));
      const double first_correction = 1.0 - std::pow(settings_.beta1, power);
      const double second_correction = 1.0 - std::pow(settings_.beta2, power);
      first_moment_ = settings_.beta1 * first_moment_ + (1.0 - settings_.beta1) * g;
      second_moment_ = settings_.beta2 * second_moment_ + (1.0 - settings_.beta2) * g.square();
      direction_ += (w.adam / first_correction) * first_moment_ /
                    ((second_moment_ * (1.0 / second_correction)).sqrt() + settings_.epsilon);
    }
    if (w.signsgd != 0.0) direction_ += w.signsgd * g.sign();
    if (uses_lion_momentum_) {
      // Lion's sign reads the momentum of the earlier steps, so it is advanced only after.
      if (w.lion != 0.0) {
        direction_ += w.lion * (settings_.lion_beta1 * lion_momentum_ + (1.0 - settings_.lion_beta1) * g).sign();
      }
      lion_momentum_ = settings_.lion_beta2 * lion_momentum_ + (1.0 - settings_.lion_beta2) * g;
      if (w.signum != 0.0) direction_ += w.signum * lion_momentum_.sign();
    }

    // Decoupled decay, as adamw and lion: the scheduled rate, the parameters before this step.
    if (settings_.weight_decay != 0.0) parameters.array() *= 1.0 - learning_rate * settings_.weight_decay;
    parameters.array() -= learning_rate * direction_;
  }

 private:
  static void size_buffer(Eigen::ArrayXd& buffer, Eigen::Index size, bool used) {
    if (used)
      buffer.setZero(size);
    else
      buffer.resize(0);
  }

  /// A size mismatch is a bug in the caller (a task or the inner loop), never a tuning problem.
  void check_sizes(const Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient) const {
    if (parameters.size() != parameter_count_ || gradient.size() != parameter_count_) {
      throw Error("update rule \"blend\": step() got " + std::to_string(parameters.size()) + " parameters and " +
                  std::to_string(gradient.size()) + " gradient entries after reset(" +
                  std::to_string(parameter_count_) + ")");
    }
  }

  /// The gradient every term and buffer sees: `gradient` itself unless clipping shortens it.
  const double* clip(const Eigen::VectorXd& gradient) {
    if (settings_.clip_norm <= 0.0) return gradient.data();
    // stableNorm, not norm: a finite gradient whose squared norm overflows is still scaled down
    // to clip_norm rather than to 0. A non-finite gradient stays non-finite (0 * inf = NaN).
    const double norm = gradient.stableNorm();
    if (!(norm > settings_.clip_norm)) return gradient.data();
    clipped_gradient_ = (settings_.clip_norm / norm) * gradient.array();
    return clipped_gradient_.data();
  }

  BlendSettings settings_;
  LearningRateSchedule schedule_;
  bool uses_velocity_;
  bool uses_adam_;
  bool uses_lion_momentum_;
  Eigen::Index parameter_count_ = 0;
  Eigen::ArrayXd direction_;
  Eigen::ArrayXd clipped_gradient_;
  Eigen::ArrayXd velocity_;
  Eigen::ArrayXd first_moment_;
  Eigen::ArrayXd second_moment_;
  Eigen::ArrayXd lion_momentum_;
};

// The weights are relative: learning_rate carries the overall scale, so [-2, 2] lets one term
// outweigh another at 1 without repeating what learning_rate does. Negative weights let a term
// cancel part of another (w_nesterov = 1, w_gradient = -1 leaves mu v); gene bounds of [0, 2]
// keep a search to descent-only mixes.
HyperparameterInfo term_weight(std::string name, double default_value, std::string description) {
  return real_hyperparameter(std::move(name), default_value, NumericRange::closed(-2.0, 2.0), std::move(description));
}

HyperparameterInfo unit_open(std::string name, double default_value, std::string description) {
  return real_hyperparameter(std::move(name), default_value, NumericRange::closed_open(0.0, 1.0),
                             std::move(description));
}

double number(const ParameterSet& h, std::string_view name) { return numeric_parameter(h, name); }

}  // namespace

UpdateRuleRegistration blend_rule_registration() {
  UpdateRuleRegistration registration;
  registration.name = "blend";
  registration.help = "weighted sum of update terms: sgd, momentum, nesterov, adam, signSGD, Signum, lion";
  // Defaults: pure Adam with Adam's defaults, so the family's default is a known-good rule.
  registration.hyperparameters = {
      real_hyperparameter("learning_rate", 1e-3, NumericRange::make(0.0, true, 10.0, false),
                          "base step size; the schedule multiplies it at each inner step"),
      term_weight("weight_gradient", 0.0, "weight of the (clipped) gradient g, as sgd"),
      term_weight("weight_momentum", 0.0, "weight of the heavy-ball velocity v = momentum v + g"),
      term_weight("weight_nesterov", 0.0, "weight of the Nesterov direction g + momentum v"),
      term_weight("weight_adam", 1.0, "weight of Adam's m^ / (sqrt(s^) + epsilon)"),
      term_weight("weight_signsgd", 0.0, "weight of sign(g), as signSGD"),
      term_weight("weight_signum", 0.0, "weight of sign(l) with l just advanced by lion_beta2, as Signum"),
      term_weight("weight_lion", 0.0, "weight of Lion's sign(lion_beta1 l + (1 - lion_beta1) g)"),
      unit_open("momentum", 0.9, "velocity decay mu of the momentum and nesterov terms"),
      unit_open("beta1", 0.9, "decay of Adam's first-moment (mean) estimate"),
      unit_open("beta2", 0.999, "decay of Adam's second-moment estimate"),
      real_hyperparameter("epsilon", 1e-8, NumericRange::make(0.0, true, 1.0, false),
                          "added to Adam's root-mean-square denominator"),
      unit_open("lion_beta1", 0.9, "Lion's interpolation of momentum l and gradient inside the sign"),
      unit_open("lion_beta2", 0.99, "decay of the momentum l that lion and signum share"),
      real_hyperparameter("clip_norm", 0.0, NumericRange::closed(0.0, 1e6),
                          "if > 0, g is scaled to L2 norm <= clip_norm before every term; 0 = off"),
      real_hyperparameter("weight_decay", 0.0, NumericRange::closed(0.0, 1.0),
                          "decoupled decay: p -= lr_t wd p before the step"),
  };
  registration.make = [](const RuleParameters& p) -> std::unique_ptr<UpdateRule> {
    const ParameterSet& h = p.hyperparameters;
    const std::int64_t inner_steps = p.inner_steps;
    BlendSettings settings{};
    settings.learning_rate = number(h, "learning_rate");
    settings.weights.gradient = number(h, "weight_gradient");
    settings.weights.momentum = number(h, "weight_momentum");
    settings.weights.nesterov = number(h, "weight_nesterov");
    settings.weights.adam = number(h, "weight_adam");
    settings.weights.signsgd = number(h, "weight_signsgd");
    settings.weights.signum = number(h, "weight_signum");
    settings.weights.lion = number(h, "weight_lion");
    settings.momentum = number(h, "momentum");
    settings.beta1 = number(h, "beta1");
    settings.beta2 = number(h, "beta2");
    settings.epsilon = number(h, "epsilon");
    settings.lion_beta1 = number(h, "lion_beta1");
    settings.lion_beta2 = number(h, "lion_beta2");
    settings.clip_norm = number(h, "clip_norm");
    settings.weight_decay = number(h, "weight_decay");
    return std::make_unique<BlendRule>(settings, learning_rate_schedule(h, inner_steps));
  };
  return registration;
}

}  // namespace metaevo
