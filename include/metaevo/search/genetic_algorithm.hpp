#pragma once
// The outer loop: a generational genetic algorithm over normalized genomes, driven by ask()/tell().
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "metaevo/core/enum_names.hpp"
#include "metaevo/core/options.hpp"
#include "metaevo/search/genome.hpp"
#include "metaevo/search/search_strategy.hpp"
#include "metaevo/core/random.hpp"
#include "metaevo/search/search_space.hpp"

namespace metaevo {

enum class CrossoverKind { uniform, blend };
template <>
struct EnumNames<CrossoverKind> {
  static constexpr std::array<EnumName<CrossoverKind>, 2> table{{
      {CrossoverKind::uniform, "uniform"},
      {CrossoverKind::blend, "blend"},
  }};
};

/// How many self-adaptive step sizes a genome carries: one per gene, one per gene group
/// (SearchSpace::group_of_gene), or a single one for the whole genome.
enum class StepSizeAdaptation { per_gene, per_group, global };
template <>
struct EnumNames<StepSizeAdaptation> {
  static constexpr std::array<EnumName<StepSizeAdaptation>, 3> table{{
      {StepSizeAdaptation::per_gene, "per_gene"},
      {StepSizeAdaptation::per_group, "per_group"},
      {StepSizeAdaptation::global, "global"},
  }};
};

/// How each child's operators are chosen: "fixed" uses options.crossover with probability crossover_rate
/// and the self-adaptive mutation (the classic GA); "bandit" lets an adaptive-pursuit bandit pick a
/// crossover operator and a mutation operator per child, credited by the fitness gains their children made.
enum class OperatorSelection { fixed, bandit };
template <>
struct EnumNames<OperatorSelection> {
  static constexpr std::array<EnumName<OperatorSelection>, 2> table{{
      {OperatorSelection::fixed, "fixed"},
      {OperatorSelection::bandit, "bandit"},
  }};
};

/// The operators the bandit chooses from (OperatorSelection::bandit), in the order of its arrays.
/// Crossover: BLX-alpha blend, uniform, none (a copy of the first parent). Mutation: the self-adaptive
/// log-normal Gaussian at the adapted step size, a wide one (step x 2) and a narrow one (step x 0.5);
/// the child stores the step size it was mutated with (clamped to [min_step_size, max_step_size]).
inline constexpr std::array<std::string_view, 3> crossover_operator_names{"blend", "uniform", "none"};
inline constexpr std::array<std::string_view, 3> mutation_operator_names{"self_adaptive", "wide", "narrow"};
inline constexpr std::array<double, 3> mutation_operator_step_factors{1.0, 2.0, 0.5};

struct GeneticAlgorithmOptions {
  int population_size = 24;      // >= 2
  int elite_count = 2;           // best genomes copied unchanged into the next generation, < population
  int tournament_size = 3;       // >= 1; larger = stronger selection pressure
  CrossoverKind crossover = CrossoverKind::blend;
  double crossover_rate = 0.9;   // probability a child comes from two parents, else from one (mutated)
  double blend_alpha = 0.5;      // BLX-alpha: children spread alpha * |a - b| beyond the parents
  double initial_step_size = 0.1;  // initial mutation std dev in normalized units, (0, 1]
  double min_step_size = 1e-3;   // self-adaptation keeps step sizes in [min, max]
  double max_step_size = 0.5;
  StepSizeAdaptation step_size_adaptation = StepSizeAdaptation::per_gene;
  double categorical_mutation_rate = 0.1;  // probability a categorical gene jumps to another choice
  OperatorSelection operator_selection = OperatorSelection::fixed;
  // Adaptive pursuit (Thierens 2005), used by operator_selection = bandit only:
  double bandit_min_probability = 0.1;   // p_min of each operator, in [0, 1/3): every operator keeps being tried
  double bandit_learning_rate = 0.3;     // alpha = beta: quality and probability update rate, (0, 1]
};

/// Validates the options; throws ConfigError naming the field, its allowed range and the value.
void validate(const GeneticAlgorithmOptions& options);

/// The options as the strategy registry's generic Options (keys as in [ga]) and back; the latter
/// validates.
Options to_options(const GeneticAlgorithmOptions& options);
GeneticAlgorithmOptions genetic_algorithm_options(const Options& options);

/// The GA's operators, exposed so tests can check each one on its own.
namespace detail {

/// Folds x into [0, 1] by reflecting at the bounds (period 2); non-finite values are clamped.
double reflect_into_unit(double x);

/// Index of the tournament winner: tournament_size candidates drawn uniformly with replacement,
/// lowest fitness wins, ties go to the lower index.
int tournament_select(const std::vector<double>& fitness, int tournament_size, RandomStream& stream);

/// Child x and step_size from parents a and b by options.crossover (ids are left to the caller).
/// Categorical genes always come from one parent chosen uniformly.
Genome crossover(const SearchSpace& space, const GeneticAlgorithmOptions& options, const Genome& parent_a,
                 const Genome& parent_b, RandomStream& stream);

/// Self-adaptive log-normal mutation of step sizes (per options.step_size_adaptation), then of x;
/// categorical genes jump to another choice with probability options.categorical_mutation_rate.
/// Learning rates: tau_local = 1/sqrt(2 sqrt(m)) for m step-size parameters, tau_global = 1/sqrt(2 G)
/// for G mutation groups (space.group_count(); G = m except per_gene with groups or blocks).
/// step_factor scales the adapted step sizes (before the clamp) for the bandit's wide and narrow
/// operators; 1 is the plain self-adaptive mutation.
void mutate(const SearchSpace& space, const GeneticAlgorithmOptions& options, Genome& genome,
            RandomStream& stream, double step_factor = 1.0);

/// Adaptive pursuit over K operators (Thierens 2005, "An adaptive pursuit strategy for allocating
/// operator probabilities"): quality Q_k <- Q_k + alpha (r_k - Q_k) for every operator used this
/// generation, where r_k is its mean credit divided by the largest mean credit of the generation (0 when
/// no child gained); then the best-quality operator k* (lowest index on ties) is pursued:
/// P_k* <- P_k* + beta (p_max - P_k*), P_k <- P_k + beta (p_min - P_k) otherwise, with
/// p_max = 1 - (K - 1) p_min and alpha = beta = learning_rate. Unused operators keep their quality.
struct OperatorBandit {
  static constexpr std::size_t operator_count = 3;
  std::array<double, operator_count> quality{};
  std::array<double, operator_count> probability{1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0};

  /// The operator of uniform u in [0, 1): the first k with u < P_0 + ... + P_k (the last one else).
  std::size_t choose(double u) const;
  /// One generation's update from each operator's use count and summed credit.
  void update(const std::array<std::int64_t, operator_count>& counts,
              const std::array<double, operator_count>& credit_sums, double min_probability, double learning_rate);
};

}  // namespace detail

/// Generational GA. ask() returns the whole population of the current generation (elites copied from
/// the previous one, with fresh ids, are evaluated again: each generation is scored on its own tasks);
/// tell() takes one fitness per genome in the same order (lower is better) and breeds the next one.
/// Every draw comes from a stream keyed by (seed, generation, child index, purpose), so the result
/// does not depend on the order evaluations finish in: child i of generation g + 1 uses
/// RandomStream(seed, selection / crossover / mutation, {g + 1, i}).
///
/// Its state (save_state) holds the seed, the options, the generation, the population (from generation 1
/// on: generation 0's, all of a steady-state run's, is the initial one, drawn from the seed again on
/// load), the best genome and the steady-state pool, so a loaded GA continues exactly as the saved one
/// did. Layout version 1 stored the population at generation 0 too; it is read as stored. The search space
/// is not stored: it comes from the constructor (the run's config) and must have the genomes' length,
/// and the stored seed and options must equal the constructor's (both checked on load).
class GeneticAlgorithm final : public SearchStrategy {
 public:
  /// Layout version of save_state(); load_state() reads 1 to this.
  static constexpr std::int64_t state_version = 2;

  GeneticAlgorithm(SearchSpace space, GeneticAlgorithmOptions options, std::uint64_t seed);

  std::string_view name() const override { return "ga"; }
  int population_size() const override { return options_.population_size; }
  /// The genomes to evaluate for generation(). Calling it twice without tell() returns the same.
  const std::vector<Genome>& ask() const override { return population_; }
  /// Fitness of ask()'s genomes, in order; non-finite values are treated as worst.
  void tell(const std::vector<double>& fitness) override;
  /// "mean_step_size" / "min_step_size" / "max_step_size": geometric mean, min and max of the step
  /// sizes of the population just bred. With operator_selection = bandit also, per operator <op> of
  /// crossover_operator_names / mutation_operator_names: "crossover_<op>_count" and
  /// "crossover_<op>_credit" (children of the generation just told made by it, their mean fitness gain
  /// over their better parent; 0 when unused), "crossover_<op>_probability" (its probability for the
  /// population just bred); the same with "mutation_<op>_...".
  StrategyStatistics statistics() const override;
  StrategyState save_state() const override;
  void load_state(const StrategyState& state) override;
  void set_genome_numbering(const GenomeNumbering& numbering) override;
  bool accepts_migrants() const override { return true; }
  /// Migrants replace the last genomes of the next population (bred children, never an elite).
  void accept_migrants(const std::vector<Genome>& migrants) override;
  int max_migrants() const override { return options_.population_size - options_.elite_count; }

  // ---- Steady-state (asynchronous) use: no generations, one offspring at a time. ----
  // The caller evaluates ask()'s initial genomes and then offspring, in whatever order results
  // arrive, telling each with tell_offspring(). The pool holds the evaluated genomes (at most
  // population_size). Do not mix with tell() on the same object.

  /// First counter of every steady-state stream path, {steady_state_stream_marker, offspring_index}
  /// ("STEADY" in ASCII). Generational children use {generation, index} with generation far below
  /// 2^62, so the two modes never share a stream key.
  static constexpr std::uint64_t steady_state_stream_marker = 0x5354454144590000;

  /// A new genome bred from the pool by the same operators as tell() uses (tournament, crossover,
  /// mutation), with streams keyed by (seed, purpose, steady-state marker, offspring_index), so the
  /// offspring depends only on the pool's content and the index. id = population_size +
  /// offspring_index; generation = id / population_size (so task sets rotate every population_size
  /// evaluations). Throws Error when the pool is empty.
  /// With operator_selection = bandit the operators come from the bandit's current probabilities
  /// (stream (seed, operator_choice, marker, offspring_index)), and the choice and the better parent's
  /// pool fitness are kept until the offspring is told (not saved: offspring in flight at a checkpoint
  /// are bred anew after a resume).
  Genome breed_offspring(std::int64_t offspring_index);
  /// Adds an evaluated genome to the pool: appended while the pool is smaller than population_size,
  /// else it replaces the worst member if strictly better (ties keep the member). Updates best().
  /// Non-finite fitness counts as worst (+inf). The pool keeps insertion order and a replacement
  /// takes the replaced member's slot; among equally worst members the one with the highest index is
  /// replaced (the one every tournament tie-break ranks last). Throws Error on a genome whose
  /// length differs from the search space.
  /// With operator_selection = bandit an offspring bred by breed_offspring() credits its operators with
  /// max(0, better parent's pool fitness at breeding - fitness); after every population_size -
  /// elite_count credited offspring the bandits update, as after a generation.
  void tell_offspring(const Genome& genome, double fitness);
  const std::vector<Genome>& pool() const { return pool_; }
  const std::vector<double>& pool_fitness() const { return pool_fitness_; }

  std::int64_t generation() const override { return generation_; }
  const SearchSpace& space() const { return space_; }
  const GeneticAlgorithmOptions& options() const { return options_; }
  /// The bandits (operator_selection = bandit; untouched uniform ones otherwise).
  const detail::OperatorBandit& crossover_bandit() const { return crossover_bandit_; }
  const detail::OperatorBandit& mutation_bandit() const { return mutation_bandit_; }

  /// Best genome seen over all told generations, with its fitness (nullopt and +inf before the first tell).
  const std::optional<Genome>& best() const override { return best_; }
  double best_fitness() const override { return best_fitness_; }

 private:
  /// Which operators bred a child and its better parent's fitness, for the bandit's credit.
  struct ChildRecord {
    std::int64_t crossover = -1;  // index into crossover_operator_names; -1: an elite (no credit)
    std::int64_t mutation = -1;
    double parent_fitness = 0.0;
  };
  Genome make_child(const std::vector<Genome>& parents, const std::vector<double>& fitness, int child_index,
                    ChildRecord& record) const;
  /// Credits the operators of the population just told (bandit mode) and updates the bandits.
  void credit_operators(const std::vector<double>& scores);
  /// Steady state: one told offspring's credit; updates the bandits once enough are credited.
  void credit_offspring(const ChildRecord& record, double score);
  /// The bandits' update from the last credited counts and credits.
  void update_bandits();
  bool bandit() const { return options_.operator_selection == OperatorSelection::bandit; }
  /// Generation 0's genomes, drawn from the seed (StreamPurpose::initial_population, {index}).
  std::vector<Genome> initial_population() const;
  /// A loaded state's parts agree with this GA (population size, genome lengths, pool); else StorageError.
  void check_state(const std::vector<Genome>& population, const std::vector<Genome>& pool,
                   const std::vector<double>& pool_fitness) const;

  SearchSpace space_;
  GeneticAlgorithmOptions options_;
  std::uint64_t seed_;
  GenomeNumbering numbering_;
  std::int64_t generation_ = 0;
  std::vector<Genome> population_;
  std::optional<Genome> best_;
  std::vector<Genome> pool_;          // steady-state only
  std::vector<double> pool_fitness_;  // steady-state only
  double best_fitness_ = std::numeric_limits<double>::infinity();
  // Bandit mode only (saved under "bandit/..."):
  detail::OperatorBandit crossover_bandit_;
  detail::OperatorBandit mutation_bandit_;
  std::vector<ChildRecord> records_;  // one per genome of population_, made when it was bred
  // The last credit_operators(): per operator, children counted and summed credit (for statistics()).
  std::array<std::int64_t, 3> crossover_counts_{};
  std::array<double, 3> crossover_credits_{};
  std::array<std::int64_t, 3> mutation_counts_{};
  std::array<double, 3> mutation_credits_{};
  // Steady state, bandit mode: offspring bred and not yet told (by id), and the credit since the
  // last update (saved; the pending records are not).
  std::map<std::int64_t, ChildRecord> pending_;
  std::array<std::int64_t, 3> steady_crossover_counts_{};
  std::array<double, 3> steady_crossover_credits_{};
  std::array<std::int64_t, 3> steady_mutation_counts_{};
  std::array<double, 3> steady_mutation_credits_{};
};

}  // namespace metaevo
