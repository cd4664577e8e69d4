// Trains a logistic regression of its own with an update rule evolved by metaevo: the rule comes
// from the JSON `metaevo export` writes, the model, data and loop are this program's.
//   use_evolved_rule RULE.json [STEPS]
// Prints the training loss as it falls; exits 0 when the final loss is below half the initial one,
// 1 when it is not, 2 when the rule cannot be read.
#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "metaevo/core/random.hpp"
#include "metaevo/rules/exported_rule.hpp"
#include "metaevo/rules/update_rule.hpp"

namespace {

/// Linearly separable-ish data: labels from a hidden weight vector, 5% of them flipped.
struct Dataset {
  Eigen::MatrixXd features;  // one sample per row
  Eigen::VectorXd labels;    // 0 or 1
};

Dataset make_dataset(Eigen::Index samples, Eigen::Index dimension, std::uint64_t seed) {
  metaevo::RandomStream stream(seed);
  Eigen::VectorXd hidden_weights(dimension);
  for (Eigen::Index j = 0; j < dimension; ++j) hidden_weights(j) = stream.normal();
  Dataset data{Eigen::MatrixXd(samples, dimension), Eigen::VectorXd(samples)};
  for (Eigen::Index i = 0; i < samples; ++i) {
    for (Eigen::Index j = 0; j < dimension; ++j) data.features(i, j) = stream.normal();
    const bool positive = data.features.row(i).dot(hidden_weights) > 0.0;
    data.labels(i) = (positive != stream.bernoulli(0.05)) ? 1.0 : 0.0;
  }
  return data;
}

/// Mean cross-entropy of sigmoid(X w) and its gradient; w's last entry is the bias.
double loss_and_gradient(const Dataset& data, const Eigen::VectorXd& parameters, Eigen::VectorXd& gradient) {
  const Eigen::Index dimension = data.features.cols();
  const Eigen::VectorXd logits = (data.features * parameters.head(dimension)).array() + parameters(dimension);
  // log(1 + e^z) - y z, written to stay finite for large |z|.
  const Eigen::ArrayXd softplus = logits.array().max(0.0) + (-logits.array().abs()).exp().log1p();
  const double count = static_cast<double>(data.labels.size());
  const Eigen::VectorXd residual = ((1.0 + (-logits.array()).exp()).inverse() - data.labels.array()).matrix() / count;
  gradient.resize(parameters.size());
  gradient.head(dimension) = data.features.transpose() * residual;
  gradient(dimension) = residual.sum();
  return (softplus - data.labels.array() * logits.array()).sum() / count;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s RULE.json [STEPS]\n", argv[0]);
    return 2;
  }
  metaevo::ExportedUpdateRule exported;
  std::unique_ptr<metaevo::UpdateRule> rule;
  try {
    exported = metaevo::update_rule_from_json(read_file(argv[1]));
    if (argc == 3) exported.inner_steps = std::stoll(argv[2]);  // the schedule is sized for this length
    rule = metaevo::make_update_rule(exported);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", argv[1], error.what());
    return 2;
  }
  std::printf("rule: %s (from %s, genome %lld), %lld steps\n", exported.family.c_str(),
              exported.run_file.empty() ? "unknown run" : exported.run_file.c_str(),
              static_cast<long long>(exported.genome_id), static_cast<long long>(exported.inner_steps));

  const Dataset data = make_dataset(/*samples=*/256, /*dimension=*/8, /*seed=*/2024);
  Eigen::VectorXd parameters = Eigen::VectorXd::Zero(data.features.cols() + 1);
  Eigen::VectorXd gradient;
  rule->reset(parameters.size());

  metaevo::StepContext context;
  context.total_steps = exported.inner_steps;
  double loss = loss_and_gradient(data, parameters, gradient);
  const double initial_loss = loss;
  for (std::int64_t t = 1; t <= exported.inner_steps; ++t) {
    context.t = t;
    context.loss = loss;
    rule->step(parameters, gradient, context);
    loss = loss_and_gradient(data, parameters, gradient);
    if (t == 1 || t % (exported.inner_steps / 10 > 0 ? exported.inner_steps / 10 : 1) == 0) {
      std::printf("step %4lld  loss %.6f\n", static_cast<long long>(t), loss);
    }
  }
  const bool learned = std::isfinite(loss) && loss < 0.5 * initial_loss;
  std::printf("loss %.6f -> %.6f: %s\n", initial_loss, loss, learned ? "the evolved rule trained the model" : "no progress");
  return learned ? 0 : 1;
}
