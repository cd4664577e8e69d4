#pragma once
// OpenAI-ES (Salimans, Ho, Chen, Sidor & Sutskever 2017, "Evolution Strategies as a Scalable
// Alternative to Reinforcement Learning"): a Gaussian-smoothed gradient estimate from antithetic
// samples with centered-rank fitness shaping, followed by an Adam step on the mean.
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "metaevo/search/search_strategy.hpp"

namespace metaevo {

struct OpenAiEsOptions {
  /// Genomes per generation: population_size / 2 antithetic pairs, so even and >= 2.
  int population_size = 50;
  /// Standard deviation of the perturbations in normalized units, in (0, 1].
  double sigma = 0.05;
  /// Adam's step size alpha in normalized units per generation, in (0, 1].
  double learning_rate = 0.01;
  /// Adam's decay of the first moment, in [0, 1).
  double beta1 = 0.9;
  /// Adam's decay of the second moment, in [0, 1).
  double beta2 = 0.999;
  /// Adam's denominator guard, in (0, 1].
  double epsilon = 1e-8;
  /// L2 coefficient lambda >= 0 (finite): weight_decay * (mean - initial_mean) is added to the
  /// gradient, i.e. the mean is pulled toward the initial mean in normalized coordinates (the
  /// caller's prior; 0 in normalized units is only the lower bound, it means nothing). 0 = off.
  double weight_decay = 0.0;
  /// sigma is multiplied by sigma_decay after every generation, in (0, 1]; 1 = fixed sigma.
  double sigma_decay = 1.0;
  /// Floor of the decayed sigma, in (0, sigma].
  double min_sigma = 1e-3;
};

/// Validates the options; throws ConfigError "search.openai_es.<field> must be <range>, got <value>".
void validate(const OpenAiEsOptions& options);

namespace detail {
/// Centered ranks of fitness (lower is better): the best gets -0.5, the worst +0.5, linear in
/// between; equal values share the mean of their ranks, so ties carry no signal. A single value gets 0.
/// Non-finite values are expected to be +inf already (worst).
std::vector<double> centered_ranks(const std::vector<double>& fitness);
}  // namespace detail

/// Sampling: pair p of generation g draws eps_p ~ N(0, I) from RandomStream(seed, strategy_sample,
/// {g, p}) by fill_normal (coordinate 0 first); genome 2p is reflect(m + sigma eps_p), genome 2p + 1 is
/// reflect(m - sigma eps_p), reflect being detail::reflect_into_unit per coordinate.
///
/// Update: the perturbations of the repaired (evaluated) points, eps_k = (x_k - m) / sigma, enter
/// g = sum_k r_k eps_k / (population_size sigma) with r_k the centered rank of genome k, which
/// estimates the gradient of the smoothed fitness; then g += weight_decay (m - initial_mean), and
/// Adam: t += 1, v1 = beta1 v1 + (1 - beta1) g, v2 = beta2 v2 + (1 - beta2) g^2,
/// m -= learning_rate sqrt(1 - beta2^t) / (1 - beta1^t) v1 / (sqrt(v2) + epsilon) (the form of the
/// paper's code). The mean is clamped to [0, 1]^n afterwards; sigma = max(min_sigma, sigma sigma_decay).
///
/// Genomes: id = generation * population_size + index, generation set, parents -1, step_size = sigma
/// in every coordinate (the standard deviation the genome was sampled with).
///
/// State (strategy "openai_es", version 2): integers seed (the uint64 seed's bits), generation,
/// population_size, adam_step, has_best; reals mean [n], initial_mean [n] (the weight-decay anchor),
/// sigma, adam_m [n], adam_v [n], gradient_norm, step_norm, best_fitness and the options that shape
/// the future: learning_rate, beta1, beta2, epsilon, weight_decay, sigma_decay, min_sigma; genomes
/// best (1 x n, only when has_best == 1). The population to ask is not stored: load_state samples it
/// from mean, sigma, generation and seed as above. Version 1 also stored it (genomes population,
/// population_size x n); such a state is still read, and its stored population is asked.
class OpenAiEs final : public SearchStrategy {
 public:
  /// initial_mean: the start point in normalized coordinates, n >= 1 entries in [0, 1]; also the
  /// anchor of the weight decay. Throws ConfigError on bad arguments.
  OpenAiEs(Eigen::VectorXd initial_mean, OpenAiEsOptions options, std::uint64_t seed);

  std::string_view name() const override { return "openai_es"; }
  int population_size() const override { return options_.population_size; }
  std::int64_t generation() const override { return generation_; }
  const std::vector<Genome>& ask() const override { return population_; }
  /// Fitness of ask()'s genomes (NaN and +-inf are worst); one Adam step on the mean. Throws Error
  /// when the count differs from population_size().
  void tell(const std::vector<double>& fitness) override;

  const std::optional<Genome>& best() const override { return best_; }
  double best_fitness() const override { return best_fitness_; }

  /// "gradient_norm" (||g|| including the weight decay term) and "step_norm" (||mean change||) of
  /// the last tell, and "sigma" (after its decay: the one of the next generation); empty before it.
  StrategyStatistics statistics() const override;

  StrategyState save_state() const override;
  void load_state(const StrategyState& state) override;
  /// Islands: the same samples, numbered anew.
  void set_genome_numbering(const GenomeNumbering& numbering) override {
    numbering_ = numbering;
    sample_population();
  }

  const OpenAiEsOptions& options() const { return options_; }
  const Eigen::VectorXd& mean() const { return mean_; }
  double sigma() const { return sigma_; }

 private:
  void sample_population();
  /// The genomes of `generation` sampled around `mean` with `sigma` (the Sampling rule above).
  std::vector<Genome> sampled_population(const Eigen::VectorXd& mean, double sigma, std::int64_t generation) const;

  OpenAiEsOptions options_;
  std::uint64_t seed_;
  GenomeNumbering numbering_;
  Eigen::VectorXd initial_mean_;
  std::int64_t generation_ = 0;
  Eigen::VectorXd mean_;
  double sigma_;
  Eigen::VectorXd adam_m_;
  Eigen::VectorXd adam_v_;
  std::int64_t adam_step_ = 0;
  double gradient_norm_ = 0.0;
  double step_norm_ = 0.0;
  std::vector<Genome> population_;
  std::optional<Genome> best_;
  double best_fitness_ = std::numeric_limits<double>::infinity();
};

}  // namespace metaevo
