#pragma once
// What the learned-rule tests share: the documented inputs and step written out plainly, one
// coordinate at a time (the reference the batched rules are compared with), the documented base
// weights, and builders for rules with given block values.
#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "metaevo/core/options.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/rules/update_rule.hpp"

namespace metaevo::testing_support {

using Architecture = std::map<std::string, OptionValue, std::less<>>;

/// A rule of `family` with these hyperparameters, architecture and block values.
inline std::unique_ptr<UpdateRule> make_learned_rule(const std::string& family, const ParameterSet& hyperparameters,
                                                     const Architecture& architecture,
                                                     std::vector<Eigen::VectorXd> blocks, std::int64_t inner_steps) {
  RuleParameters parameters;
  parameters.hyperparameters = hyperparameters;
  parameters.architecture = Options(architecture);
  parameters.blocks = std::move(blocks);
  parameters.inner_steps = inner_steps;
  return make_update_rule(family, std::move(parameters));
}

/// Each block's values uniform in +-fraction of its bound, from `seed`.
inline std::vector<Eigen::VectorXd> random_blocks(const std::string& family, const Architecture& architecture,
                                                  double fraction, std::uint64_t seed) {
  RandomStream stream(seed);
  std::vector<Eigen::VectorXd> values;
  for (const GeneBlock& block : update_rule_gene_blocks(family, update_rule_architecture(family, architecture))) {
    Eigen::VectorXd value(block.length);
    for (Eigen::Index j = 0; j < value.size(); ++j) value(j) = fraction * block.high * (2.0 * stream.uniform() - 1.0);
    values.push_back(value);
  }
  return values;
}

using PlainMatrix = std::vector<std::vector<double>>;  // [input][output]

/// The documented base: gain sqrt(3 / inputs) (2 u_k - 1) with u_k the k-th uniform (from 1,
/// row by row) of RandomStream(init_seed, rule_base_weights, {family tag, layer}).
inline PlainMatrix documented_base(std::int64_t init_seed, std::uint64_t family_tag, std::uint64_t layer, int inputs,
                                   int outputs, double gain) {
  RandomStream stream(static_cast<std::uint64_t>(init_seed), StreamPurpose::rule_base_weights, {family_tag, layer});
  PlainMatrix w(static_cast<std::size_t>(inputs), std::vector<double>(static_cast<std::size_t>(outputs)));
  for (auto& row : w) {
    for (double& weight : row) weight = gain * std::sqrt(3.0 / inputs) * (2.0 * stream.uniform() - 1.0);
  }
  return w;
}

/// A plain layer read from a block as documented: W row by row, then the biases; plus a base.
struct PlainLayer {
  PlainMatrix weights;
  std::vector<double> bias;
};
inline PlainLayer plain_layer(const Eigen::VectorXd& block, int inputs, int outputs, const PlainMatrix& base) {
  PlainLayer layer;
  layer.weights.assign(static_cast<std::size_t>(inputs), std::vector<double>(static_cast<std::size_t>(outputs)));
  for (int i = 0; i < inputs; ++i) {
    for (int o = 0; o < outputs; ++o) {
      layer.weights[i][o] = block(i * outputs + o) + (base.empty() ? 0.0 : base[i][o]);
    }
  }
  for (int o = 0; o < outputs; ++o) layer.bias.push_back(block(inputs * outputs + o));
  return layer;
}
/// x W + b, then tanh unless `linear`.
inline std::vector<double> plain_forward(const PlainLayer& layer, const std::vector<double>& x, bool linear) {
  std::vector<double> y = layer.bias;
  for (std::size_t o = 0; o < y.size(); ++o) {
    for (std::size_t i = 0; i < x.size(); ++i) y[o] += x[i] * layer.weights[i][o];
    if (!linear) y[o] = std::tanh(y[o]);
  }
  return y;
}

/// The documented inputs and step, one coordinate at a time.
class ReferenceLearnedRule {
 public:
  struct Settings {
    double learning_rate = 1e-3;  // constant schedule
    double adam_weight = 1.0;
    double scale = 1.0;
    double alpha = 1.0;
    double epsilon = 1e-8;
  };

  explicit ReferenceLearnedRule(std::size_t n) : m_(n, {0.0, 0.0, 0.0, 0.0}), v_(n, 0.0) {}

  /// The 13 inputs of every coordinate at step t; also keeps the Adam direction for step().
  std::vector<std::vector<double>> inputs(const Eigen::VectorXd& p, const Eigen::VectorXd& g, std::int64_t t,
                                          std::int64_t total_steps, double loss, std::vector<Eigen::Index> tensors,
                                          double epsilon) {
    const std::array<double, 4> decays{0.5, 0.9, 0.99, 0.999};
    const auto n = static_cast<std::size_t>(p.size());
    const double tt = static_cast<double>(t);
    std::vector<std::vector<double>> x(n, std::vector<double>(13, 0.0));
    adam_.assign(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      const double gi = g(static_cast<Eigen::Index>(i));
      for (std::size_t k = 0; k < 4; ++k) m_[i][k] = decays[k] * m_[i][k] + (1.0 - decays[k]) * gi;
      v_[i] = 0.999 * v_[i] + (1.0 - 0.999) * gi * gi;
      const double cv = 1.0 - std::pow(0.999, tt);
      const double denominator = std::sqrt(v_[i] / cv) + epsilon;
      x[i][0] = gi;
      x[i][1] = p(static_cast<Eigen::Index>(i));
      for (std::size_t k = 0; k < 4; ++k) x[i][2 + k] = m_[i][k] / (1.0 - std::pow(decays[k], tt));
      x[i][6] = std::sqrt(v_[i] / cv);
      x[i][7] = (m_[i][1] / (1.0 - std::pow(0.9, tt))) / denominator;
      adam_[i] = x[i][7];
    }
    if (tensors.empty()) tensors.push_back(static_cast<Eigen::Index>(n));
    std::size_t offset = 0;
    for (const Eigen::Index size : tensors) {
      const auto count = static_cast<std::size_t>(size);
      for (std::size_t f = 0; f < 8; ++f) {
        double sum = 0.0;
        for (std::size_t i = offset; i < offset + count; ++i) sum += x[i][f] * x[i][f];
        const double rms = std::sqrt(sum / static_cast<double>(count) + 1e-12);
        for (std::size_t i = offset; i < offset + count; ++i) x[i][f] /= rms;
      }
      offset += count;
    }
    if (initial_loss_ == 0.0 && std::isfinite(loss) && loss > 0.0) initial_loss_ = loss;
    const double loss_input =
        initial_loss_ > 0.0 && std::isfinite(loss) && loss >= 0.0 ? std::tanh(std::log(loss / initial_loss_)) : 0.0;
    for (auto& row : x) {
      row[8] = total_steps > 0 ? tt / static_cast<double>(total_steps) : 0.0;
      row[9] = std::tanh(tt / 10.0);
      row[10] = std::tanh(tt / 100.0);
      row[11] = std::tanh(tt / 1000.0);
      row[12] = loss_input;
    }
    return x;
  }

  /// p_i <- p_i - lr (adam_weight adam_i + scale d_i exp(alpha m_i)), with outputs[i] = (d_i, m_i).
  void step(Eigen::VectorXd& p, const std::vector<std::vector<double>>& outputs, const Settings& s) const {
    for (std::size_t i = 0; i < adam_.size(); ++i) {
      p(static_cast<Eigen::Index>(i)) -=
          s.learning_rate * (s.adam_weight * adam_[i] + s.scale * outputs[i][0] * std::exp(s.alpha * outputs[i][1]));
    }
  }

 private:
  std::vector<std::array<double, 4>> m_;
  std::vector<double> v_;
  std::vector<double> adam_;
  double initial_loss_ = 0.0;
};

/// Block values for a hand-checked test: 0.3 sin(1.7 j + b) in block b.
inline std::vector<Eigen::VectorXd> patterned_blocks(const std::string& family, const Architecture& architecture) {
  std::vector<Eigen::VectorXd> values;
  double b = 0.0;
  for (const GeneBlock& block : update_rule_gene_blocks(family, update_rule_architecture(family, architecture))) {
    Eigen::VectorXd value(block.length);
    for (Eigen::Index j = 0; j < value.size(); ++j) value(j) = 0.3 * std::sin(1.7 * static_cast<double>(j) + b);
    values.push_back(value);
    b += 1.0;
  }
  return values;
}

/// The fixed example of scripts/learned_rule_reference.py: 5 parameters in tensors of 3 and 2, T = 10,
/// three steps with gradients cos(1.3 i + t) and losses 2 / t; the parameters after each.
inline std::vector<Eigen::VectorXd> demo_steps(UpdateRule& rule) {
  Eigen::VectorXd p(5);
  p << 0.5, -0.25, 1.0, 0.0, 0.75;
  const std::vector<Eigen::Index> tensors = {3, 2};
  std::vector<Eigen::VectorXd> steps;
  rule.reset(5);
  for (std::int64_t t = 1; t <= 3; ++t) {
    Eigen::VectorXd g(5);
    for (Eigen::Index i = 0; i < 5; ++i) g(i) = std::cos(1.3 * static_cast<double>(i) + static_cast<double>(t));
    StepContext context;
    context.t = t;
    context.total_steps = 10;
    context.loss = 2.0 / static_cast<double>(t);
    context.tensor_sizes = tensors;
    rule.step(p, g, context);
    steps.push_back(p);
  }
  return steps;
}

/// The script's `--demo` rule: block values 0.2 sin(0.37 j + b), init_seed 5, lr 0.1, alpha 0.5,
/// scale 0.7, constant schedule.
inline std::unique_ptr<UpdateRule> patterned_demo_rule(const std::string& family, const Architecture& architecture) {
  std::vector<Eigen::VectorXd> blocks;
  double b = 0.0;
  for (const GeneBlock& block : update_rule_gene_blocks(family, update_rule_architecture(family, architecture))) {
    Eigen::VectorXd value(block.length);
    for (Eigen::Index j = 0; j < value.size(); ++j) value(j) = 0.2 * std::sin(0.37 * static_cast<double>(j) + b);
    blocks.push_back(value);
    b += 1.0;
  }
  return make_learned_rule(family, {{"learning_rate", 0.1}, {"alpha", 0.5}, {"scale", 0.7}}, architecture, blocks, 10);
}

/// The same from the script's printed lines (empty when the output is not 3 lines of 5 numbers).
inline std::vector<Eigen::VectorXd> parse_demo_output(const std::string& output) {
  std::vector<Eigen::VectorXd> steps;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream numbers(line);
    Eigen::VectorXd p(5);
    for (Eigen::Index i = 0; i < 5; ++i) {
      if (!(numbers >> p(i))) return {};
    }
    steps.push_back(p);
  }
  return steps.size() == 3 ? steps : std::vector<Eigen::VectorXd>{};
}

/// max_i |a_i - b_i| / |b_i| (0 where both are 0, infinite where only b_i is).
inline double relative_difference(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  double largest = 0.0;
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    const double difference = std::abs(a(i) - b(i));
    if (difference == 0.0) continue;
    largest = std::max(largest, b(i) == 0.0 ? std::numeric_limits<double>::infinity() : difference / std::abs(b(i)));
  }
  return largest;
}

}  // namespace metaevo::testing_support
