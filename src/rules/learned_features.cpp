#include "rules/learned_features.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"

// step() of a learned rule is the inner loop's hot path: every buffer is sized by reset(n), and
// each pass is an Eigen expression or product assigned (noalias) into that storage, so no step
// allocates (tests/learned_mlp_rule_test.cpp counts). Bias corrections are scalars per step.

namespace metaevo::learned {

namespace {

double power(double base, std::int64_t t) { return std::pow(base, static_cast<double>(std::max<std::int64_t>(t, 1))); }

}  // namespace

std::vector<HyperparameterInfo> output_hyperparameters() {
  return {
      real_hyperparameter("learning_rate", 1e-3, NumericRange::make(0.0, true, 10.0, false),
                          "base step size lr; the schedule multiplies it at each inner step"),
      real_hyperparameter("adam_weight", 1.0, NumericRange::closed(0.0, 2.0),
                          "weight of the Adam residual in the step (0: the network alone)"),
      real_hyperparameter("scale", 1.0, NumericRange::closed(0.0, 10.0),
                          "weight of the network's term d exp(alpha m) (0: plain Adam, network skipped)"),
      real_hyperparameter("alpha", 1.0, NumericRange::closed(0.0, 10.0),
                          "exponent factor of the magnitude output m: the term is d exp(alpha m)"),
      real_hyperparameter("epsilon", 1e-8, NumericRange::make(0.0, true, 1.0, false),
                          "added to sqrt(v^) in the Adam direction (input and residual)"),
  };
}

OutputSettings output_settings(const RuleParameters& parameters) {
  const ParameterSet& h = parameters.hyperparameters;
  OutputSettings settings;
  settings.learning_rate = numeric_parameter(h, "learning_rate");
  settings.schedule = learning_rate_schedule(h, parameters.inner_steps);
  settings.adam_weight = numeric_parameter(h, "adam_weight");
  settings.scale = numeric_parameter(h, "scale");
  settings.alpha = numeric_parameter(h, "alpha");
  settings.epsilon = numeric_parameter(h, "epsilon");
  return settings;
}

std::string inputs_definition() {
  return "State per coordinate, zero after reset: m_b for b in (0.5, 0.9, 0.99, 0.999) and v.\n"
         "At step t (from 1), gradient g, parameters p:\n"
         "  m_b <- b m_b + (1 - b) g;  v <- 0.999 v + (1 - 0.999) g^2\n"
         "  c_b = 1 - b^t;  c_v = 1 - 0.999^t;  D = sqrt(v / c_v) + epsilon\n"
         "Inputs x (F = 13), in this order:\n"
         "  x0 = g, x1 = p, x2..x5 = m_b / c_b (b = 0.5, 0.9, 0.99, 0.999), x6 = sqrt(v / c_v),\n"
         "  x7 = (m_0.9 / c_0.9) / D (the Adam direction);\n"
         "  each of x0..x7 is divided by sqrt(mean(x^2) + 1e-12), the mean over the coordinates of the\n"
         "  same tensor (the task's tensors, e.g. an MLP's W then b per layer; one tensor if none);\n"
         "  x8 = t / T (T = inner steps; 0 if unknown), x9, x10, x11 = tanh(t / 10), tanh(t / 100),\n"
         "  tanh(t / 1000), x12 = tanh(ln(L_t / L_0)) (L_t the loss at the current parameters, L_0 the\n"
         "  first finite positive loss since reset; 0 while either is unknown or not finite);\n"
         "  x8..x12 are the same for every coordinate and not normalized.\n";
}

std::string output_definition() {
  return "Step, with (d, m) the network's two outputs for the coordinate and lr_t = learning_rate times\n"
         "the schedule at t:\n"
         "  p <- p - lr_t (adam_weight (m_0.9 / c_0.9) / D + scale d exp(alpha m))\n"
         "(a term whose weight is 0 is left out). Every layer is x W + b with x a row of inputs, W inputs\n"
         "x outputs. A block of a layer holds W row by row (value i * outputs + o: input i to output o),\n"
         "then the biases. Effective W = base + block values, effective b = block values. The base is\n"
         "gain sqrt(3 / inputs) (2 u_k - 1), u_k = (mix64(key + k 0x9e3779b97f4a7c15) >> 11) 2^-53 for\n"
         "k = i * outputs + o + 1 (mod 2^64), key = metaevo::stream_key(init_seed, 14, {family tag,\n"
         "layer}) and mix64 the SplitMix64 finalizer (include/metaevo/core/random.hpp). With every block\n"
         "at 0 the read-out is 0, d = m = 0, and the step is exactly Adam's (beta1 0.9, beta2 0.999).\n";
}

// ---------------------------------------------------------------------------------------------
// FeatureState
// ---------------------------------------------------------------------------------------------

void FeatureState::reset(Eigen::Index parameter_count) {
  parameter_count_ = parameter_count;
  momenta_.setZero(parameter_count, static_cast<Eigen::Index>(momentum_decays.size()));
  second_moment_.setZero(parameter_count);
  adam_denominator_.setZero(parameter_count);
  features_.setZero(parameter_count, coordinate_feature_count);
  global_.setZero();
  initial_loss_ = 0.0;
  first_correction_ = 1.0;
}

void FeatureState::update(const Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient,
                          const StepContext& context, double epsilon, std::string_view family) {
  // Every size is checked before any state changes; a mismatch is a caller's bug (run_inner_loop
  // checks the task's tensor sizes too), never a tuning problem.
  if (parameters.size() != parameter_count_ || gradient.size() != parameter_count_) {
    throw Error("update rule \"" + std::string(family) + "\": step() got " + std::to_string(parameters.size()) +
                " parameters and " + std::to_string(gradient.size()) + " gradient entries after reset(" +
                std::to_string(parameter_count_) + ")");
  }
  Eigen::Index total = 0;
  bool negative = false;
  for (const Eigen::Index size : context.tensor_sizes) {
    negative = negative || size < 0;
    total += size;
  }
  if (!context.tensor_sizes.empty() && (negative || total != parameter_count_)) {
    throw Error("update rule \"" + std::string(family) + "\": the tensor sizes sum to " + std::to_string(total) +
                (negative ? " (one is negative)" : "") + ", but there are " + std::to_string(parameter_count_) +
                " parameters");
  }
  const std::int64_t t = context.t;
  const auto g = gradient.array();
  for (std::size_t k = 0; k < momentum_decays.size(); ++k) {
    const double b = momentum_decays[k];
    auto m = momenta_.col(static_cast<Eigen::Index>(k)).array();
    m = b * m + (1.0 - b) * g;
  }
  // The same expressions as AdamRule, so the residual reproduces adam to the last bit.
  second_moment_ = second_moment_decay * second_moment_ + (1.0 - second_moment_decay) * g.square();
  first_correction_ = 1.0 - power(momentum_decays[adam_momentum], t);
  const double second_correction = 1.0 - power(second_moment_decay, t);
  adam_denominator_ = (second_moment_ * (1.0 / second_correction)).sqrt() + epsilon;

  features_.col(0) = gradient;
  features_.col(1) = parameters;
  for (std::size_t k = 0; k < momentum_decays.size(); ++k) {
    const auto column = static_cast<Eigen::Index>(k);
    features_.col(2 + column) = momenta_.col(column) * (1.0 / (1.0 - power(momentum_decays[k], t)));
  }
  features_.col(6).array() = (second_moment_ * (1.0 / second_correction)).sqrt();
  features_.col(7).array() =
      (momenta_.col(static_cast<Eigen::Index>(adam_momentum)).array() * (1.0 / first_correction_)) / adam_denominator_;
  normalize_per_tensor(context.tensor_sizes);

  const double steps = static_cast<double>(t);
  global_(0) = context.progress();
  for (std::size_t k = 0; k < time_scales.size(); ++k)
    global_(1 + static_cast<Eigen::Index>(k)) = std::tanh(steps / time_scales[k]);
  const double loss = context.loss;
  if (initial_loss_ == 0.0 && std::isfinite(loss) && loss > 0.0) initial_loss_ = loss;
  // loss 0 gives ln 0 = -inf and tanh -1, the limit; a ratio that overflows gives +1.
  global_(4) =
      initial_loss_ > 0.0 && std::isfinite(loss) && loss >= 0.0 ? std::tanh(std::log(loss / initial_loss_)) : 0.0;
}

void FeatureState::normalize_per_tensor(std::span<const Eigen::Index> tensor_sizes) {
  // The sizes were checked by update(): non-negative, summing to n.
  auto normalize = [this](Eigen::Index offset, Eigen::Index size) {
    if (size == 0) return;
    for (Eigen::Index f = 0; f < coordinate_feature_count; ++f) {
      auto segment = features_.col(f).segment(offset, size);
      const double mean_square = segment.squaredNorm() / static_cast<double>(size);
      segment *= 1.0 / std::sqrt(mean_square + normalization_epsilon);
    }
  };
  if (tensor_sizes.empty()) {
    normalize(0, parameter_count_);
    return;
  }
  Eigen::Index offset = 0;
  for (const Eigen::Index size : tensor_sizes) {
    normalize(offset, size);
    offset += size;
  }
}

void FeatureState::apply_step(Eigen::VectorXd& parameters, const Eigen::MatrixXd& output,
                              const OutputSettings& settings, std::int64_t t) const {
  const double learning_rate = settings.learning_rate * settings.schedule.factor(t);
  const bool with_adam = settings.adam_weight != 0.0;
  const bool with_network = settings.scale != 0.0;
  // (lr w / c1) m / D in AdamRule's order: with w = 1 and a zero network term, adam's exact bits.
  const double adam_factor = learning_rate * settings.adam_weight / first_correction_;
  const auto m = momenta_.col(static_cast<Eigen::Index>(adam_momentum)).array();
  const double network_factor = learning_rate * settings.scale;
  const auto direction = output.col(0).array();
  const auto magnitude = output.col(1).array();
  auto p = parameters.array();
  if (with_adam && with_network) {
    p -= adam_factor * m / adam_denominator_ + network_factor * direction * (settings.alpha * magnitude).exp();
  } else if (with_adam) {
    p -= adam_factor * m / adam_denominator_;
  } else if (with_network) {
    p -= network_factor * direction * (settings.alpha * magnitude).exp();
  }
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

GeneBlock dense_block(std::string name, Eigen::Index inputs, Eigen::Index outputs, std::string description) {
  // Bounds scaled by fan-in, so a block at its bounds gives pre-activations of the same order
  // whatever the layer's width.
  const double bound = 3.0 / std::sqrt(static_cast<double>(inputs));
  GeneBlock block;
  block.name = std::move(name);
  block.length = static_cast<std::int64_t>((inputs + 1) * outputs);
  block.low = -bound;
  block.high = bound;
  block.initial_value = 0.0;
  block.initial_scale = bound / 10.0;
  block.description = std::move(description);
  return block;
}

Eigen::MatrixXd base_weights(std::int64_t init_seed, std::uint64_t family_tag, std::uint64_t layer, Eigen::Index inputs,
                             Eigen::Index outputs, double gain) {
  RandomStream stream(static_cast<std::uint64_t>(init_seed), StreamPurpose::rule_base_weights, {family_tag, layer});
  // Uniform with variance gain^2 / inputs (LeCun): unit-RMS inputs give pre-activations of RMS gain.
  const double half_width = gain * std::sqrt(3.0 / static_cast<double>(inputs));
  Eigen::MatrixXd base(inputs, outputs);
  for (Eigen::Index i = 0; i < inputs; ++i) {
    for (Eigen::Index o = 0; o < outputs; ++o) base(i, o) = half_width * (2.0 * stream.uniform() - 1.0);
  }
  return base;
}

DenseLayer dense_layer(const Eigen::VectorXd& block, Eigen::Index inputs, Eigen::Index outputs,
                       const Eigen::MatrixXd& base) {
  DenseLayer layer;
  // The block is W row by row: a row-major map of its first inputs x outputs values.
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  layer.weights = Eigen::Map<const RowMajor>(block.data(), inputs, outputs);
  if (base.size() != 0) layer.weights += base;
  layer.bias = block.segment(inputs * outputs, outputs).transpose();
  return layer;
}

InputLayer::InputLayer(const DenseLayer& layer)
    : coordinate_weights_(layer.weights.topRows(coordinate_feature_count)),
      global_weights_(layer.weights.bottomRows(global_feature_count)),
      bias_(layer.bias),
      folded_bias_(layer.bias.size()) {}

void InputLayer::fold_globals(const FeatureState& features) {
  folded_bias_.noalias() = features.global_features() * global_weights_;
  folded_bias_ += bias_;
}

void InputLayer::preactivation(const FeatureState& features, Eigen::Index offset, Eigen::Index rows,
                               Eigen::Ref<Eigen::MatrixXd> out) const {
  out.noalias() = features.coordinate_features().middleRows(offset, rows) * coordinate_weights_;
  out.rowwise() += folded_bias_;
}

void tanh_in_place(Eigen::Ref<Eigen::MatrixXd> x) { x.array() = 1.0 - 2.0 / (1.0 + (2.0 * x.array()).exp()); }

std::string weight_count_text(const std::vector<GeneBlock>& blocks) {
  std::int64_t total = 0;
  for (const GeneBlock& block : blocks) total += block.length;
  return std::to_string(total) + " weights in all";
}

}  // namespace metaevo::learned
