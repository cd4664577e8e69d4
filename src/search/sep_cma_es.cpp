#include "metaevo/search/sep_cma_es.hpp"

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

constexpr std::string_view prefix = "search.sep_cma_es";
// Version 2 drops the population: it is sampled again from mean, sigma, diag C, generation and seed.
constexpr std::int64_t state_version = 2;

}  // namespace

void validate(const SepCmaEsOptions& options) {
  require_option(options.population_size == 0 || options.population_size >= 2, prefix, "population_size",
                 "0 (default 4 + floor(3 ln n)) or >= 2", std::to_string(options.population_size));
  const bool parent_ok = options.parent_count == 0 ||
                         (options.parent_count >= 1 &&
                          (options.population_size == 0 || options.parent_count <= options.population_size));
  require_option(parent_ok, prefix, "parent_count", "0 (default population_size / 2) or in [1, population_size]",
                 std::to_string(options.parent_count));
  require_option(options.initial_sigma > 0.0 && options.initial_sigma <= 1.0, prefix, "initial_sigma", "in (0, 1]",
                 format_number(options.initial_sigma));
  require_option(options.min_sigma > 0.0 && options.min_sigma <= options.initial_sigma, prefix, "min_sigma",
                 "in (0, initial_sigma] = (0, " + format_number(options.initial_sigma) + "]",
                 format_number(options.min_sigma));
  require_option(options.max_sigma >= options.initial_sigma && options.max_sigma <= 1e6, prefix, "max_sigma",
                 "in [initial_sigma, 1e6] = [" + format_number(options.initial_sigma) + ", 1e6]",
                 format_number(options.max_sigma));
}

SepCmaEsParameters sep_cma_es_parameters(Eigen::Index dimension, const SepCmaEsOptions& options) {
  const auto n = static_cast<double>(dimension);
  SepCmaEsParameters p;
  p.lambda = options.population_size > 0 ? options.population_size
                                         : 4 + static_cast<int>(std::floor(3.0 * std::log(n)));
  p.mu = options.parent_count > 0 ? options.parent_count : std::max(1, p.lambda / 2);
  if (p.mu > p.lambda) {
    throw ConfigError(std::string(prefix) + ".parent_count must be in [1, population_size] = [1, " +
                      std::to_string(p.lambda) + "], got " + std::to_string(p.mu));
  }
  // Log weights w_i ~ ln((lambda + 1) / 2) - ln i; with mu > (lambda + 1) / 2 the tail would turn
  // negative, so weights are floored at a tiny positive share instead (only reachable by option).
  const double top = std::log((static_cast<double>(p.lambda) + 1.0) / 2.0);
  double sum = 0.0;
  for (int i = 1; i <= p.mu; ++i) {
    const double w = std::max(top - std::log(static_cast<double>(i)), 1e-3);
    p.weights.push_back(w);
    sum += w;
  }
  double squares = 0.0;
  for (double& w : p.weights) {
    w /= sum;
    squares += w * w;
  }
  p.mu_eff = 1.0 / squares;
  const double mu_eff = p.mu_eff;

  p.c_sigma = (mu_eff + 2.0) / (n + mu_eff + 5.0);
  p.d_sigma = 1.0 + 2.0 * std::max(0.0, std::sqrt((mu_eff - 1.0) / (n + 1.0)) - 1.0) + p.c_sigma;
  p.c_c = (4.0 + mu_eff / n) / (n + 4.0 + 2.0 * mu_eff / n);
  const double c_1 = 2.0 / ((n + 1.3) * (n + 1.3) + mu_eff);
  const double c_mu = std::min(1.0 - c_1, 2.0 * (mu_eff - 2.0 + 1.0 / mu_eff) / ((n + 2.0) * (n + 2.0) + mu_eff));
  // Ros & Hansen: the diagonal has n free parameters, not n (n + 1) / 2, so it may learn (n + 2) / 3
  // times faster; both rates are capped so that the old C keeps a non-negative share.
  const double diagonal_factor = (n + 2.0) / 3.0;
  p.c_1 = std::min(c_1 * diagonal_factor, 1.0);
  p.c_mu = std::clamp(c_mu * diagonal_factor, 0.0, 1.0 - p.c_1);
  p.chi_n = std::sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
  return p;
}

SepCmaEs::SepCmaEs(Eigen::VectorXd initial_mean, Eigen::VectorXd coordinate_scale, SepCmaEsOptions options,
                   std::uint64_t seed)
    : options_(options), seed_(seed), mean_(std::move(initial_mean)), sigma_(options.initial_sigma) {
  validate(options_);
  const Eigen::Index n = mean_.size();
  if (n < 1) throw ConfigError(std::string(prefix) + ": the initial mean is empty (the search space has no genes)");
  for (Eigen::Index i = 0; i < n; ++i) {
    if (!(mean_[i] >= 0.0 && mean_[i] <= 1.0)) {
      throw ConfigError(std::string(prefix) + ": initial mean coordinate " + std::to_string(i) +
                        " must be in [0, 1] (normalized), got " + format_number(mean_[i]));
    }
  }
  if (coordinate_scale.size() == 0) coordinate_scale = Eigen::VectorXd::Ones(n);
  if (coordinate_scale.size() != n) {
    throw ConfigError(std::string(prefix) + ": coordinate_scale has " + std::to_string(coordinate_scale.size()) +
                      " entries, the initial mean " + std::to_string(n));
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    if (!(std::isfinite(coordinate_scale[i]) && coordinate_scale[i] > 0.0)) {
      throw ConfigError(std::string(prefix) + ": coordinate_scale " + std::to_string(i) +
                        " must be finite and > 0, got " + format_number(coordinate_scale[i]));
    }
  }
  parameters_ = sep_cma_es_parameters(n, options_);
  diagonal_ = coordinate_scale.cwiseProduct(coordinate_scale);
  path_sigma_ = Eigen::VectorXd::Zero(n);
  path_c_ = Eigen::VectorXd::Zero(n);
  sample_population();
}

void SepCmaEs::sample_population() { population_ = sampled_population(mean_, sigma_, diagonal_, generation_); }

std::vector<Genome> SepCmaEs::sampled_population(const Eigen::VectorXd& mean, double sigma,
                                                 const Eigen::VectorXd& diagonal, std::int64_t generation) const {
  const Eigen::Index n = mean.size();
  const auto lambda = static_cast<std::int64_t>(parameters_.lambda);
  const Eigen::VectorXd std_dev = sigma * diagonal.cwiseSqrt();
  std::vector<Genome> population(static_cast<std::size_t>(lambda));
  Eigen::VectorXd z(n);
  for (std::int64_t k = 0; k < lambda; ++k) {
    RandomStream stream(seed_, StreamPurpose::strategy_sample,
                        {static_cast<std::uint64_t>(generation), static_cast<std::uint64_t>(k)});
    Genome& genome = population[static_cast<std::size_t>(k)];
    genome.id = numbering_.id(generation, k, lambda);
    genome.generation = generation;
    stream.fill_normal(z.data(), static_cast<std::size_t>(n));
    genome.x.resize(n);
    for (Eigen::Index i = 0; i < n; ++i) genome.x[i] = detail::reflect_into_unit(mean[i] + std_dev[i] * z[i]);
    genome.step_size = std_dev;
  }
  return population;
}

void SepCmaEs::tell(const std::vector<double>& fitness) {
  if (fitness.size() != population_.size()) {
    throw Error("SepCmaEs::tell: got " + std::to_string(fitness.size()) + " fitness values for a population of " +
                std::to_string(population_.size()) + " (generation " + std::to_string(generation_) + ")");
  }
  const std::vector<double> scores = strategy_detail::sanitized(fitness);
  const std::vector<int> order = strategy_detail::ranking(scores);
  strategy_detail::track_best(population_, scores, order, best_, best_fitness_);

  const SepCmaEsParameters& p = parameters_;
  const Eigen::Index n = mean_.size();
  // Steps of the repaired points: what was evaluated is what the distribution learns from.
  Eigen::VectorXd y_w = Eigen::VectorXd::Zero(n);
  Eigen::VectorXd rank_mu = Eigen::VectorXd::Zero(n);
  for (int i = 0; i < p.mu; ++i) {
    const Genome& genome = population_[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])];
    const Eigen::VectorXd y = (genome.x - mean_) / sigma_;
    const double w = p.weights[static_cast<std::size_t>(i)];
    y_w += w * y;
    rank_mu += w * y.cwiseProduct(y);
  }
  mean_ += sigma_ * y_w;
  // Rounding can leave the weighted mean of points in [0, 1] a hair outside.
  mean_ = mean_.cwiseMax(0.0).cwiseMin(1.0);

  // Cumulation: p_sigma is in the isotropic frame C^(-1/2) y_w = y_w / D.
  const Eigen::VectorXd d = diagonal_.cwiseSqrt();
  path_sigma_ = (1.0 - p.c_sigma) * path_sigma_ +
                std::sqrt(p.c_sigma * (2.0 - p.c_sigma) * p.mu_eff) * y_w.cwiseQuotient(d);
  const double updates = static_cast<double>(generation_ + 1);
  const double bias = std::sqrt(1.0 - std::pow(1.0 - p.c_sigma, 2.0 * updates));
  const double n_real = static_cast<double>(n);
  const bool h_sigma = path_sigma_.norm() / bias < (1.4 + 2.0 / (n_real + 1.0)) * p.chi_n;
  path_c_ = (1.0 - p.c_c) * path_c_ +
            (h_sigma ? std::sqrt(p.c_c * (2.0 - p.c_c) * p.mu_eff) : 0.0) * y_w;

  // Weights sum to 1, so the old C keeps 1 - c_1 - c_mu, plus the share h_sigma = 0 withholds.
  const double keep = 1.0 - p.c_1 - p.c_mu + (h_sigma ? 0.0 : p.c_1 * p.c_c * (2.0 - p.c_c));
  diagonal_ = keep * diagonal_ + p.c_1 * path_c_.cwiseProduct(path_c_) + p.c_mu * rank_mu;

  // At most a factor e per generation (as pycma does): one huge path after a jump must not blow sigma up.
  const double log_change = (p.c_sigma / p.d_sigma) * (path_sigma_.norm() / p.chi_n - 1.0);
  sigma_ = std::clamp(sigma_ * std::exp(std::min(log_change, 1.0)), options_.min_sigma, options_.max_sigma);
  // A diagonal entry can only shrink towards 0 geometrically; keep it a normal positive number.
  diagonal_ = diagonal_.cwiseMax(std::numeric_limits<double>::min());

  ++generation_;
  sample_population();
}

StrategyStatistics SepCmaEs::statistics() const {
  const Eigen::VectorXd d = diagonal_.cwiseSqrt();
  return {{"sigma", sigma_},
          {"axis_ratio", d.maxCoeff() / d.minCoeff()},
          {"min_std", sigma_ * d.minCoeff()},
          {"max_std", sigma_ * d.maxCoeff()},
          {"path_sigma_norm", path_sigma_.norm() / parameters_.chi_n}};
}

StrategyState SepCmaEs::save_state() const {
  StrategyState state;
  state.strategy = std::string(name());
  state.version = state_version;
  state.put("seed", strategy_detail::seed_bits(seed_));
  state.put("generation", generation_);
  state.put("population_size", std::int64_t{parameters_.lambda});
  state.put("parent_count", std::int64_t{parameters_.mu});
  state.put("initial_sigma", options_.initial_sigma);
  state.put("min_sigma", options_.min_sigma);
  state.put("max_sigma", options_.max_sigma);
  state.put("mean", mean_);
  state.put("sigma", sigma_);
  state.put("diagonal", diagonal_);
  state.put("path_sigma", path_sigma_);
  state.put("path_c", path_c_);
  // No population: load_state samples it again (most of a checkpoint otherwise).
  strategy_detail::put_best(state, best_, best_fitness_);
  return state;
}

void SepCmaEs::load_state(const StrategyState& state) {
  using namespace strategy_detail;
  state.require(name(), state_version);
  require_integer(state, "seed", seed_bits(seed_), "the run's seed (as int64 bits)");
  require_integer(state, "population_size", parameters_.lambda, "the configured population_size");
  require_integer(state, "parent_count", parameters_.mu, "the configured parent_count");
  // min/max sigma change the trajectory; initial_sigma only the past, so it is not compared.
  require_real(state, "min_sigma", options_.min_sigma, "search.sep_cma_es.min_sigma");
  require_real(state, "max_sigma", options_.max_sigma, "search.sep_cma_es.max_sigma");
  const std::int64_t generation = stored_generation(state);
  const Eigen::Index n = mean_.size();
  Eigen::VectorXd mean = unit_interval_vector(state, "mean", n);
  const double sigma = positive_real(state, "sigma");
  Eigen::VectorXd diagonal = finite_vector(state, "diagonal", n, true);
  Eigen::VectorXd path_sigma = finite_vector(state, "path_sigma", n, false);
  Eigen::VectorXd path_c = finite_vector(state, "path_c", n, false);
  std::optional<Genome> best;
  double best_fitness = 0.0;
  stored_best(state, n, best, best_fitness);
  // Version 1 stored the population: it is used as stored. Later versions sample it exactly as tell()
  // did from what was just read, so a resume asks the same genomes bit for bit.
  std::vector<Genome> population = state.version == 1 ? stored_population(state, n, parameters_.lambda, generation)
                                                      : sampled_population(mean, sigma, diagonal, generation);

  // Everything read and checked: only now does the object change.
  generation_ = generation;
  mean_ = std::move(mean);
  sigma_ = sigma;
  diagonal_ = std::move(diagonal);
  path_sigma_ = std::move(path_sigma);
  path_c_ = std::move(path_c);
  population_ = std::move(population);
  best_ = std::move(best);
  best_fitness_ = best_fitness;
}

}  // namespace metaevo
