// golden_trace_tool: runs an exported update rule (`metaevo export` JSON) for a number of steps on a
// fixed problem and writes what it did as JSON, so another implementation of the rule (the PyTorch
// EvolvedOptimizer in python/metaevo/) can take the same steps and compare.
//
// Usage: golden_trace_tool RULE.json STEPS TRACE.json [TOTAL_STEPS]
//   TOTAL_STEPS overrides the rule's inner_steps (the T of the schedule and of the t / T input).
//
// The problem: three tensors (shapes [4, 3], [3], [2, 65]: normalization per tensor, a chunk border
// of the learned rules at 128 rows), the loss
//   L(p) = 1 + sum_k (0.5 a_k (p_k - c_k)^2 + 0.05 sin(3 p_k)),  g_k = a_k (p_k - c_k) + 0.15 cos(3 p_k)
// (non-quadratic, so the gradients are not a linear map of p; positive, so the learned rules' loss
// input is defined). The trace holds the problem itself (each tensor's shape, initial values, a and
// c), so the other side needs no formula but the loss, and the parameters and loss of every step.
#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "metaevo/rules/exported_rule.hpp"

namespace {

using Json = nlohmann::ordered_json;

struct Problem {
  std::vector<std::vector<std::int64_t>> shapes;
  std::vector<Eigen::Index> tensor_sizes;
  Eigen::VectorXd initial;
  Eigen::VectorXd center;
  Eigen::VectorXd curvature;
};

Problem make_problem() {
  Problem problem;
  problem.shapes = {{4, 3}, {3}, {2, 65}};
  Eigen::Index total = 0;
  for (const auto& shape : problem.shapes) {
    Eigen::Index size = 1;
    for (const std::int64_t extent : shape) size *= static_cast<Eigen::Index>(extent);
    problem.tensor_sizes.push_back(size);
    total += size;
  }
  problem.initial.resize(total);
  problem.center.resize(total);
  problem.curvature.resize(total);
  for (Eigen::Index k = 0; k < total; ++k) {
    const auto x = static_cast<double>(k);
    problem.initial(k) = 0.5 * std::sin(0.9 * x + 0.3);
    problem.center(k) = std::cos(1.7 * x);
    problem.curvature(k) = 1.0 + 0.8 * static_cast<double>(k % 7) / 6.0;
  }
  return problem;
}

double loss(const Problem& problem, const Eigen::VectorXd& p) {
  const Eigen::ArrayXd offset = p.array() - problem.center.array();
  return 1.0 + (0.5 * problem.curvature.array() * offset.square() + 0.05 * (3.0 * p.array()).sin()).sum();
}

Eigen::VectorXd gradient(const Problem& problem, const Eigen::VectorXd& p) {
  return (problem.curvature.array() * (p.array() - problem.center.array()) + 0.15 * (3.0 * p.array()).cos())
      .matrix();
}

std::vector<double> as_list(const Eigen::VectorXd& values) { return {values.begin(), values.end()}; }

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::int64_t positive_integer(const std::string& text, const std::string& what) {
  std::size_t used = 0;
  const long long value = std::stoll(text, &used);
  if (used != text.size() || value < 1) throw std::runtime_error(what + " must be a positive integer, got " + text);
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fputs("usage: golden_trace_tool RULE.json STEPS TRACE.json [TOTAL_STEPS]\n", stderr);
    return 2;
  }
  try {
    metaevo::ExportedUpdateRule exported = metaevo::update_rule_from_json(read_text(argv[1]));
    const std::int64_t steps = positive_integer(argv[2], "STEPS");
    if (argc == 5) exported.inner_steps = positive_integer(argv[4], "TOTAL_STEPS");

    const Problem problem = make_problem();
    const std::unique_ptr<metaevo::UpdateRule> rule = metaevo::make_update_rule(exported);
    Eigen::VectorXd parameters = problem.initial;
    rule->reset(parameters.size());

    Json trace = Json::object();
    trace["format"] = "metaevo-golden-trace";
    trace["family"] = exported.family;
    trace["total_steps"] = exported.inner_steps;
    trace["steps"] = steps;
    Json tensors = Json::array();
    Eigen::Index offset = 0;
    for (std::size_t i = 0; i < problem.shapes.size(); ++i) {
      const Eigen::Index size = problem.tensor_sizes[i];
      Json tensor = Json::object();
      tensor["shape"] = problem.shapes[i];
      tensor["initial"] = as_list(problem.initial.segment(offset, size));
      tensor["center"] = as_list(problem.center.segment(offset, size));
      tensor["curvature"] = as_list(problem.curvature.segment(offset, size));
      tensors.push_back(std::move(tensor));
      offset += size;
    }
    trace["tensors"] = std::move(tensors);

    Json losses = Json::array();
    Json after_step = Json::array();
    for (std::int64_t t = 1; t <= steps; ++t) {
      metaevo::StepContext context;
      context.t = t;
      context.total_steps = exported.inner_steps;
      context.loss = loss(problem, parameters);
      context.tensor_sizes = problem.tensor_sizes;
      const Eigen::VectorXd g = gradient(problem, parameters);
      rule->step(parameters, g, context);
      losses.push_back(context.loss);
      after_step.push_back(as_list(parameters));
    }
    trace["loss"] = std::move(losses);  // at the parameters each step's gradient was taken at
    trace["parameters"] = std::move(after_step);  // all tensors concatenated, after each step

    std::ofstream out(argv[3]);
    out << trace.dump(1) << "\n";
    if (!out) throw std::runtime_error(std::string("cannot write ") + argv[3]);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "golden_trace_tool: %s\n", error.what());
    return 1;
  }
  return 0;
}
