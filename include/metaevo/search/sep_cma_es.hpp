#pragma once
// Separable CMA-ES (Ros & Hansen 2008): CMA-ES with a diagonal covariance matrix, so a generation
// costs O(lambda n) time and the state O(n) memory; the learning rate of the diagonal is raised by
// (n + 2) / 3 because only n (not n^2 / 2) parameters are learned.
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "metaevo/search/search_strategy.hpp"

namespace metaevo {

struct SepCmaEsOptions {
  /// lambda, genomes per generation; 0 = the literature default 4 + floor(3 ln n). Otherwise >= 2.
  int population_size = 0;
  /// mu, the best genomes the mean and covariance are recombined from; 0 = lambda / 2 (rounded
  /// down). Otherwise in [1, lambda].
  int parent_count = 0;
  /// sigma_0, the initial global step size in normalized units, in (0, 1]. The initial standard
  /// deviation of coordinate i is initial_sigma * coordinate_scale[i] (see the constructor);
  /// Hansen recommends about 1/5 to 1/3 of the search interval, here [0, 1].
  double initial_sigma = 0.3;
  /// sigma is kept in [min_sigma, max_sigma] after every update: the floor keeps (x - m) / sigma
  /// finite once a run has converged, the ceiling stops sigma from running away when reflection at
  /// the bounds flattens the landscape. 0 < min_sigma <= initial_sigma.
  double min_sigma = 1e-20;
  /// Upper clamp of sigma, >= initial_sigma and <= 1e6.
  double max_sigma = 10.0;
};

/// Validates the options; throws ConfigError "search.sep_cma_es.<field> must be <range>, got <value>".
void validate(const SepCmaEsOptions& options);

/// The strategy parameters derived from n and the options (Hansen's tutorial, arXiv:1604.00772,
/// table 1, with positive weights only; c_1 and c_mu multiplied by (n + 2) / 3 as in Ros & Hansen).
struct SepCmaEsParameters {
  int lambda = 0;
  int mu = 0;
  std::vector<double> weights;  // mu positive recombination weights, summing to 1, best first
  double mu_eff = 0.0;          // 1 / sum w_i^2
  double c_sigma = 0.0;
  double d_sigma = 0.0;
  double c_c = 0.0;
  double c_1 = 0.0;             // already multiplied by (n + 2) / 3
  double c_mu = 0.0;            // already multiplied by (n + 2) / 3, and <= 1 - c_1
  double chi_n = 0.0;           // E||N(0, I)||
};

/// The parameters for dimension n (>= 1) and validated options.
SepCmaEsParameters sep_cma_es_parameters(Eigen::Index n, const SepCmaEsOptions& options);

/// Sampling: genome k of generation g is x_k = reflect(m + sigma * D z_k), z_k ~ N(0, I) drawn from
/// RandomStream(seed, strategy_sample, {g, k}) by fill_normal (coordinate 0 first), D = sqrt(diag C);
/// reflect is detail::reflect_into_unit per coordinate. The update uses the repaired (evaluated)
/// points, y_k = (x_k - m) / sigma, as if they had been sampled, so the mean always stays in [0, 1]^n.
///
/// Genomes: id = generation * lambda + index, generation set, parents -1, step_size = sigma * D (the
/// per-coordinate standard deviation the genome was sampled with).
///
/// State (strategy "sep_cma_es", version 2): integers seed (the uint64 seed's bits), generation,
/// population_size, parent_count, has_best; reals mean [n], sigma, diagonal [n] (diag C), path_sigma
/// [n], path_c [n], best_fitness, min_sigma, max_sigma, initial_sigma; genomes best (1 x n, only when
/// has_best == 1). The population to ask is not stored: load_state samples it from mean, sigma,
/// diagonal, generation and seed as above. Version 1 also stored it (genomes population, lambda x n);
/// such a state is still read, and its stored population is asked.
class SepCmaEs final : public SearchStrategy {
 public:
  /// initial_mean: the start point in normalized coordinates, n >= 1 entries in [0, 1].
  /// coordinate_scale: n positive finite relative step sizes (e.g. narrower for coarse genes), or
  /// empty for all ones; it is the initial D, so the initial standard deviation of coordinate i is
  /// options.initial_sigma * coordinate_scale[i]. Throws ConfigError on bad arguments.
  SepCmaEs(Eigen::VectorXd initial_mean, Eigen::VectorXd coordinate_scale, SepCmaEsOptions options,
           std::uint64_t seed);

  std::string_view name() const override { return "sep_cma_es"; }
  int population_size() const override { return parameters_.lambda; }
  std::int64_t generation() const override { return generation_; }
  const std::vector<Genome>& ask() const override { return population_; }
  /// Ranks by fitness (NaN and +-inf are worst, ties keep the lower index first) and updates
  /// mean, paths, diagonal and sigma. Throws Error when the count differs from population_size().
  void tell(const std::vector<double>& fitness) override;

  const std::optional<Genome>& best() const override { return best_; }
  double best_fitness() const override { return best_fitness_; }

  /// "sigma", "axis_ratio" (max D / min D), "min_std" and "max_std" (min and max of sigma * D),
  /// "path_sigma_norm" (||p_sigma|| / E||N(0, I)||, near 1 when the step size is right).
  StrategyStatistics statistics() const override;

  StrategyState save_state() const override;
  void load_state(const StrategyState& state) override;
  /// Islands: the same samples, numbered anew.
  void set_genome_numbering(const GenomeNumbering& numbering) override {
    numbering_ = numbering;
    sample_population();
  }

  const SepCmaEsOptions& options() const { return options_; }
  const SepCmaEsParameters& parameters() const { return parameters_; }
  const Eigen::VectorXd& mean() const { return mean_; }
  double sigma() const { return sigma_; }
  /// diag C; the standard deviation of coordinate i is sigma() * sqrt(diagonal()[i]).
  const Eigen::VectorXd& diagonal() const { return diagonal_; }

 private:
  void sample_population();
  /// The genomes of `generation` sampled from N(mean, sigma^2 diag(diagonal)) (the Sampling rule above).
  std::vector<Genome> sampled_population(const Eigen::VectorXd& mean, double sigma, const Eigen::VectorXd& diagonal,
                                         std::int64_t generation) const;

  SepCmaEsOptions options_;
  SepCmaEsParameters parameters_;
  std::uint64_t seed_;
  GenomeNumbering numbering_;
  std::int64_t generation_ = 0;
  Eigen::VectorXd mean_;
  double sigma_;
  Eigen::VectorXd diagonal_;
  Eigen::VectorXd path_sigma_;
  Eigen::VectorXd path_c_;
  std::vector<Genome> population_;
  std::optional<Genome> best_;
  double best_fitness_ = std::numeric_limits<double>::infinity();
};

}  // namespace metaevo
