#include "metaevo/search/openai_es.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/text_format.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "search/strategy_detail.hpp"

namespace metaevo {

namespace {

using strategy_detail::require_option;
using text::format_number;

constexpr std::string_view prefix = "search.openai_es";
// Version 2 drops the population: it is sampled again from mean, sigma, generation and seed.
constexpr std::int64_t state_version = 2;

void require_range(double value, bool ok, std::string_view field, std::string_view range) {
  require_option(ok, prefix, field, range, format_number(value));
}

}  // namespace

void validate(const OpenAiEsOptions& options) {
  require_option(options.population_size >= 2 && options.population_size % 2 == 0, prefix, "population_size",
                 "even and >= 2 (antithetic pairs)", std::to_string(options.population_size));
  // Negated forms are avoided: every comparison below is false for NaN, so NaN is rejected.
  require_range(options.sigma, options.sigma > 0.0 && options.sigma <= 1.0, "sigma", "in (0, 1]");
  require_range(options.learning_rate, options.learning_rate > 0.0 && options.learning_rate <= 1.0, "learning_rate",
                "in (0, 1]");
  require_range(options.beta1, options.beta1 >= 0.0 && options.beta1 < 1.0, "beta1", "in [0, 1)");
  require_range(options.beta2, options.beta2 >= 0.0 && options.beta2 < 1.0, "beta2", "in [0, 1)");
  require_range(options.epsilon, options.epsilon > 0.0 && options.epsilon <= 1.0, "epsilon", "in (0, 1]");
  require_range(options.weight_decay, options.weight_decay >= 0.0 && std::isfinite(options.weight_decay),
                "weight_decay", ">= 0 and finite");
  require_range(options.sigma_decay, options.sigma_decay > 0.0 && options.sigma_decay <= 1.0, "sigma_decay",
                "in (0, 1]");
  require_range(options.min_sigma, options.min_sigma > 0.0 && options.min_sigma <= options.sigma, "min_sigma",
                "in (0, sigma] = (0, " + format_number(options.sigma) + "]");
}

namespace detail {

std::vector<double> centered_ranks(const std::vector<double>& fitness) {
  const std::vector<int> order = strategy_detail::ranking(fitness);
  const std::size_t count = order.size();
  std::vector<double> result(count, 0.0);
  if (count < 2) return result;
  const double last = static_cast<double>(count - 1);
  // Runs of equal fitness share the mean rank of the run.
  for (std::size_t begin = 0; begin < count;) {
    std::size_t end = begin + 1;
    while (end < count && fitness[static_cast<std::size_t>(order[end])] ==
                              fitness[static_cast<std::size_t>(order[begin])]) {
      ++end;
    }
    const double mean_rank = 0.5 * static_cast<double>(begin + end - 1);
    for (std::size_t k = begin; k < end; ++k) result[static_cast<std::size_t>(order[k])] = mean_rank / last - 0.5;
    begin = end;
  }
  return result;
}

}  // namespace detail

OpenAiEs::OpenAiEs(Eigen::VectorXd initial_mean, OpenAiEsOptions options, std::uint64_t seed)
    : options_(options), seed_(seed), initial_mean_(std::move(initial_mean)), sigma_(options.sigma) {
  validate(options_);
  const Eigen::Index n = initial_mean_.size();
  if (n < 1) throw ConfigError(std::string(prefix) + ": the initial mean is empty (the search space has no genes)");
  for (Eigen::Index i = 0; i < n; ++i) {
    if (!(initial_mean_[i] >= 0.0 && initial_mean_[i] <= 1.0)) {
      throw ConfigError(std::string(prefix) + ": initial mean coordinate " + std::to_string(i) +
                        " must be in [0, 1] (normalized), got " + format_number(initial_mean_[i]));
    }
  }
  mean_ = initial_mean_;
  adam_m_ = Eigen::VectorXd::Zero(n);
  adam_v_ = Eigen::VectorXd::Zero(n);
  sample_population();
}

void OpenAiEs::sample_population() { population_ = sampled_population(mean_, sigma_, generation_); }

std::vector<Genome> OpenAiEs::sampled_population(const Eigen::VectorXd& mean, double sigma,
                                                 std::int64_t generation) const {
  const Eigen::Index n = mean.size();
  const auto count = static_cast<std::int64_t>(options_.population_size);
  std::vector<Genome> population(static_cast<std::size_t>(count));
  Eigen::VectorXd eps(n);
  for (std::int64_t pair = 0; pair < count / 2; ++pair) {
    RandomStream stream(seed_, StreamPurpose::strategy_sample,
                        {static_cast<std::uint64_t>(generation), static_cast<std::uint64_t>(pair)});
    stream.fill_normal(eps.data(), static_cast<std::size_t>(n));
    for (std::int64_t side = 0; side < 2; ++side) {
      const std::int64_t k = 2 * pair + side;
      const double sign = side == 0 ? 1.0 : -1.0;
      Genome& genome = population[static_cast<std::size_t>(k)];
      genome.id = numbering_.id(generation, k, count);
      genome.generation = generation;
      genome.x.resize(n);
      for (Eigen::Index i = 0; i < n; ++i) {
        genome.x[i] = metaevo::detail::reflect_into_unit(mean[i] + sign * sigma * eps[i]);
      }
      genome.step_size = Eigen::VectorXd::Constant(n, sigma);
    }
  }
  return population;
}

void OpenAiEs::tell(const std::vector<double>& fitness) {
  if (fitness.size() != population_.size()) {
    throw Error("OpenAiEs::tell: got " + std::to_string(fitness.size()) + " fitness values for a population of " +
                std::to_string(population_.size()) + " (generation " + std::to_string(generation_) + ")");
  }
  const std::vector<double> scores = strategy_detail::sanitized(fitness);
  const std::vector<int> order = strategy_detail::ranking(scores);
  strategy_detail::track_best(population_, scores, order, best_, best_fitness_);

  // g = sum_k r_k eps_k / (N sigma) with eps_k = (x_k - m) / sigma from the repaired points.
  const std::vector<double> shaped = detail::centered_ranks(scores);
  const Eigen::Index n = mean_.size();
  Eigen::VectorXd gradient = Eigen::VectorXd::Zero(n);
  for (std::size_t k = 0; k < population_.size(); ++k) {
    if (shaped[k] != 0.0) gradient += shaped[k] * (population_[k].x - mean_);
  }
  gradient /= static_cast<double>(population_.size()) * sigma_ * sigma_;
  if (options_.weight_decay > 0.0) gradient += options_.weight_decay * (mean_ - initial_mean_);

  ++adam_step_;
  const double t = static_cast<double>(adam_step_);
  adam_m_ = options_.beta1 * adam_m_ + (1.0 - options_.beta1) * gradient;
  adam_v_ = options_.beta2 * adam_v_ + (1.0 - options_.beta2) * gradient.cwiseProduct(gradient);
  const double rate = options_.learning_rate * std::sqrt(1.0 - std::pow(options_.beta2, t)) /
                      (1.0 - std::pow(options_.beta1, t));
  const Eigen::VectorXd previous = mean_;
  mean_ -= rate * adam_m_.cwiseQuotient((adam_v_.cwiseSqrt().array() + options_.epsilon).matrix());
  // Beyond the bounds every sample would be reflected back anyway; the mean stays where it can be evaluated.
  mean_ = mean_.cwiseMax(0.0).cwiseMin(1.0);

  gradient_norm_ = gradient.norm();
  step_norm_ = (mean_ - previous).norm();
  sigma_ = std::max(options_.min_sigma, sigma_ * options_.sigma_decay);
  ++generation_;
  sample_population();
}

StrategyStatistics OpenAiEs::statistics() const {
  if (generation_ == 0) return {};
  return {{"gradient_norm", gradient_norm_}, {"sigma", sigma_}, {"step_norm", step_norm_}};
}

StrategyState OpenAiEs::save_state() const {
  StrategyState state;
  state.strategy = std::string(name());
  state.version = state_version;
  state.put("seed", strategy_detail::seed_bits(seed_));
  state.put("generation", generation_);
  state.put("population_size", std::int64_t{options_.population_size});
  state.put("adam_step", adam_step_);
  state.put("learning_rate", options_.learning_rate);
  state.put("beta1", options_.beta1);
  state.put("beta2", options_.beta2);
  state.put("epsilon", options_.epsilon);
  state.put("weight_decay", options_.weight_decay);
  state.put("sigma_decay", options_.sigma_decay);
  state.put("min_sigma", options_.min_sigma);
  state.put("initial_mean", initial_mean_);
  state.put("mean", mean_);
  state.put("sigma", sigma_);
  state.put("adam_m", adam_m_);
  state.put("adam_v", adam_v_);
  state.put("gradient_norm", gradient_norm_);
  state.put("step_norm", step_norm_);
  // No population: load_state samples it again (it is ~2/3 of a checkpoint otherwise).
  strategy_detail::put_best(state, best_, best_fitness_);
  return state;
}

void OpenAiEs::load_state(const StrategyState& state) {
  using namespace strategy_detail;
  state.require(name(), state_version);
  require_integer(state, "seed", seed_bits(seed_), "the run's seed (as int64 bits)");
  require_integer(state, "population_size", options_.population_size, "the configured population_size");
  // Every option that shapes the rest of the run must be the one it was saved with.
  require_real(state, "learning_rate", options_.learning_rate, "search.openai_es.learning_rate");
  require_real(state, "beta1", options_.beta1, "search.openai_es.beta1");
  require_real(state, "beta2", options_.beta2, "search.openai_es.beta2");
  require_real(state, "epsilon", options_.epsilon, "search.openai_es.epsilon");
  require_real(state, "weight_decay", options_.weight_decay, "search.openai_es.weight_decay");
  require_real(state, "sigma_decay", options_.sigma_decay, "search.openai_es.sigma_decay");
  require_real(state, "min_sigma", options_.min_sigma, "search.openai_es.min_sigma");
  const std::int64_t generation = stored_generation(state);
  // One Adam step per told generation.
  require_integer(state, "adam_step", generation, "the stored generation");
  const Eigen::Index n = mean_.size();
  Eigen::VectorXd initial_mean = finite_vector(state, "initial_mean", n, false);
  Eigen::VectorXd mean = unit_interval_vector(state, "mean", n);
  const double sigma = positive_real(state, "sigma");
  Eigen::VectorXd adam_m = finite_vector(state, "adam_m", n, false);
  Eigen::VectorXd adam_v = finite_vector(state, "adam_v", n, false);
  if (adam_v.size() > 0 && adam_v.minCoeff() < 0.0) {
    throw StorageError(entry_error(state, "adam_v", "has a negative second moment"));
  }
  const double gradient_norm = state.real("gradient_norm");
  const double step_norm = state.real("step_norm");
  std::optional<Genome> best;
  double best_fitness = 0.0;
  stored_best(state, n, best, best_fitness);
  // Version 1 stored the population: it is used as stored. Later versions sample it exactly as tell()
  // did from what was just read, so a resume asks the same genomes bit for bit.
  std::vector<Genome> population = state.version == 1
                                       ? stored_population(state, n, options_.population_size, generation)
                                       : sampled_population(mean, sigma, generation);

  // Everything read and checked: only now does the object change.
  generation_ = generation;
  adam_step_ = generation;
  initial_mean_ = std::move(initial_mean);
  mean_ = std::move(mean);
  sigma_ = sigma;
  adam_m_ = std::move(adam_m);
  adam_v_ = std::move(adam_v);
  gradient_norm_ = gradient_norm;
  step_norm_ = step_norm;
  population_ = std::move(population);
  best_ = std::move(best);
  best_fitness_ = best_fitness;
}

}  // namespace metaevo
