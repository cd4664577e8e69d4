#pragma once
// What the learned update rules (learned_mlp, learned_rnn) share: the per-coordinate inputs and
// their per-tensor normalization, the global inputs, the step built from the network's two outputs
// on top of an Adam residual, the hyperparameters, and the gene blocks of dense layers whose
// effective weights are a fixed base plus the genes. The definitions and the reasons:
// docs/learned-rules.md.
#include <Eigen/Core>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metaevo/rules/update_rule.hpp"

namespace metaevo::learned {

/// Inputs that differ per coordinate (normalized per tensor) and inputs shared by all coordinates.
inline constexpr Eigen::Index coordinate_feature_count = 8;
inline constexpr Eigen::Index global_feature_count = 5;
inline constexpr Eigen::Index feature_count = coordinate_feature_count + global_feature_count;

inline constexpr std::array<double, 4> momentum_decays{0.5, 0.9, 0.99, 0.999};
inline constexpr std::size_t adam_momentum = 1;  // momentum_decays[1] = 0.9 is Adam's beta1
inline constexpr double second_moment_decay = 0.999;
inline constexpr std::array<double, 3> time_scales{10.0, 100.0, 1000.0};
/// In x / sqrt(mean(x^2) + this): keeps an all-zero tensor at 0; inputs are scale-free down to an
/// RMS of about 1e-6 (doubles allow a smaller floor than float32 learned optimizers use).
inline constexpr double normalization_epsilon = 1e-12;

/// The scalar hyperparameters every learned family has, read once when the rule is built.
struct OutputSettings {
  double learning_rate = 1e-3;
  LearningRateSchedule schedule;
  double adam_weight = 1.0;  // weight of the Adam residual
  double scale = 1.0;        // weight of the network's term (0: the network is not evaluated)
  double alpha = 1.0;        // exponent factor of the magnitude output
  double epsilon = 1e-8;     // Adam's denominator
};

/// learning_rate, adam_weight, scale, alpha, epsilon (the schedule ones are added by the registry).
std::vector<HyperparameterInfo> output_hyperparameters();
OutputSettings output_settings(const RuleParameters& parameters);

/// Text shared by both families' `definition`: inputs, normalization, output, initialization.
std::string inputs_definition();
std::string output_definition();

/// Keeps the gradient statistics of every coordinate and turns them into the network's inputs.
/// All buffers are sized by reset(n); update() and apply_step() never allocate.
class FeatureState {
 public:
  void reset(Eigen::Index parameter_count);
  Eigen::Index size() const { return parameter_count_; }

  /// Advances the moments with g and writes the inputs of step context.t: the n x 8 coordinate
  /// inputs (normalized over each tensor of context.tensor_sizes) and the 1 x 5 global ones.
  /// Throws Error when the sizes do not match reset(n) or the tensor sizes do not sum to n.
  void update(const Eigen::VectorXd& parameters, const Eigen::VectorXd& gradient, const StepContext& context,
              double epsilon, std::string_view family);

  const Eigen::MatrixXd& coordinate_features() const { return features_; }
  const Eigen::Matrix<double, 1, global_feature_count>& global_features() const { return global_; }

  /// p <- p - lr_t (adam_weight Adam + scale d exp(alpha m)), with d and m the columns of `output`
  /// (n x 2). A term whose weight is 0 is left out (so a NaN output cannot leak into pure Adam).
  void apply_step(Eigen::VectorXd& parameters, const Eigen::MatrixXd& output, const OutputSettings& settings,
                  std::int64_t t) const;

 private:
  void normalize_per_tensor(std::span<const Eigen::Index> tensor_sizes);

  Eigen::Index parameter_count_ = 0;
  Eigen::MatrixXd momenta_;          // n x 4, one column per decay, not bias-corrected
  Eigen::ArrayXd second_moment_;     // n, not bias-corrected
  Eigen::ArrayXd adam_denominator_;  // n, sqrt(v^) + eps of this step
  Eigen::MatrixXd features_;         // n x 8
  Eigen::Matrix<double, 1, global_feature_count> global_;
  double initial_loss_ = 0.0;      // L0: the first finite positive loss since reset; 0 = none yet
  double first_correction_ = 1.0;  // 1 - beta1^t of this step
};

/// A dense layer x W + b (x a row of inputs): W is inputs x outputs.
struct DenseLayer {
  Eigen::MatrixXd weights;
  Eigen::RowVectorXd bias;
};

/// A gene block holding one dense layer, laid out as W row by row (value i * outputs + o is the
/// weight from input i to output o), then the outputs' biases: (inputs + 1) * outputs values. Bounds
/// +-3 / sqrt(inputs), initial value 0, initial spread a tenth of the bound.
GeneBlock dense_block(std::string name, Eigen::Index inputs, Eigen::Index outputs, std::string description);

/// The fixed base of a layer's weights: gain * sqrt(3 / inputs) * (2 u_k - 1), u_k the k-th uniform
/// (k = i * outputs + o, from 1) of RandomStream(init_seed, StreamPurpose::rule_base_weights,
/// {family_tag, layer}); variance gain^2 / inputs. Biases have base 0.
Eigen::MatrixXd base_weights(std::int64_t init_seed, std::uint64_t family_tag, std::uint64_t layer, Eigen::Index inputs,
                             Eigen::Index outputs, double gain);

/// The effective layer: base weights (zero when `base` is empty) plus the block's values.
DenseLayer dense_layer(const Eigen::VectorXd& block, Eigen::Index inputs, Eigen::Index outputs,
                       const Eigen::MatrixXd& base);

/// The network runs over the coordinates in chunks of this many rows: each product then packs at
/// most chunk_rows x max_width and max_width x max_width doubles (64 KB and 32 KB), which Eigen keeps
/// on the stack (its limit is 128 KB), so no step allocates; a chunk's activations also stay in cache.
inline constexpr Eigen::Index chunk_rows = 128;
inline constexpr std::int64_t max_width = 64;  // hidden widths; 64 already gives over 5,000 weights

/// The first layer, split so the global inputs (equal for every coordinate) fold into its bias once
/// per step instead of costing n x 5 x H multiplications.
class InputLayer {
 public:
  InputLayer() = default;
  explicit InputLayer(const DenseLayer& layer);
  Eigen::Index outputs() const { return coordinate_weights_.cols(); }
  /// Once per step, before preactivation(): b + x_global W_global.
  void fold_globals(const FeatureState& features);
  /// out = X_coordinates W_coordinates + (b + x_global W_global) in every row, for the `rows`
  /// coordinates from `offset`; out is rows x outputs.
  void preactivation(const FeatureState& features, Eigen::Index offset, Eigen::Index rows,
                     Eigen::Ref<Eigen::MatrixXd> out) const;

 private:
  Eigen::MatrixXd coordinate_weights_;  // 8 x H
  Eigen::MatrixXd global_weights_;      // 5 x H
  Eigen::RowVectorXd bias_;
  Eigen::RowVectorXd folded_bias_;  // b + x_global W_global of this step
};

/// x <- tanh(x) coefficient-wise, as 1 - 2 / (1 + exp(2x)): Eigen vectorizes exp but not tanh for
/// doubles; within a few 1e-16 of std::tanh, exact limits at +-inf, NaN stays NaN.
void tanh_in_place(Eigen::Ref<Eigen::MatrixXd> x);

/// "hidden_sizes gives 258 weights": for block descriptions.
std::string weight_count_text(const std::vector<GeneBlock>& blocks);

}  // namespace metaevo::learned
