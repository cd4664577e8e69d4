#include "metaevo/search/genetic_algorithm.hpp"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <numeric>
#include <string>

#include "metaevo/core/error.hpp"
#include "core/text_format.hpp"
#include "search/strategy_detail.hpp"

namespace metaevo {

namespace {

using text::format_number;
using text::joined;

// Range checks written once, so every message has the same shape:
// "ga.<field> must be <range>, got <value>". Negated comparisons also reject NaN.
void require(bool ok, std::string_view field, std::string_view range, const std::string& seen) {
  if (!ok) throw ConfigError("ga." + std::string(field) + " must be " + std::string(range) + ", got " + seen);
}

void require_in(double value, double low, bool low_open, double high, bool high_open, std::string_view field,
                std::string_view bound_names = {}) {
  const bool above_low = low_open ? value > low : value >= low;
  const bool below_high = high_open ? value < high : value <= high;
  std::string range = std::string(low_open ? "(" : "[") + format_number(low) + ", " + format_number(high) +
                      (high_open ? ")" : "]");
  if (!bound_names.empty()) range = std::string(bound_names) + " = " + range;
  require(above_low && below_high, field, "in " + range, format_number(value));
}

/// How many self-adaptive step sizes a genome has and which one each gene uses.
struct StepSizeLayout {
  int count = 0;
  std::vector<int> parameter_of_gene;
};

StepSizeLayout step_size_layout(const SearchSpace& space, StepSizeAdaptation adaptation) {
  const auto genes = static_cast<std::size_t>(space.size());
  StepSizeLayout layout;
  switch (adaptation) {
    case StepSizeAdaptation::per_gene:
      layout.count = static_cast<int>(genes);
      layout.parameter_of_gene.resize(genes);
      std::iota(layout.parameter_of_gene.begin(), layout.parameter_of_gene.end(), 0);
      break;
    case StepSizeAdaptation::per_group:
      layout.count = space.group_count();
      layout.parameter_of_gene = space.group_of_gene();
      break;
    case StepSizeAdaptation::global:
      layout.count = genes > 0 ? 1 : 0;
      layout.parameter_of_gene.assign(genes, 0);
      break;
  }
  return layout;
}

/// The operators a child is bred with in bandit mode (indices into crossover_operator_names and
/// mutation_operator_names); nullopt in fixed mode.
struct OperatorChoice {
  std::size_t crossover = 0;
  std::size_t mutation = 0;
};

/// One child from parents ranked by fitness: tournament parents, crossover with probability
/// crossover_rate (else a copy of parent a), then mutation. Shared by the generational and the
/// steady-state modes, which differ only in the stream path. With `choice` (bandit mode) the crossover
/// operator and the mutation step factor come from it instead (crossover_rate and options.crossover are
/// not used). `parent_fitness` receives the better fitness of the parents the child was made from.
Genome breed_child(const SearchSpace& space, const GeneticAlgorithmOptions& options, const std::vector<Genome>& parents,
                   const std::vector<double>& fitness, std::uint64_t seed, std::initializer_list<std::uint64_t> path,
                   const std::optional<OperatorChoice>& choice = std::nullopt, double* parent_fitness = nullptr) {
  RandomStream selection(seed, StreamPurpose::selection, path);
  RandomStream crossing(seed, StreamPurpose::crossover, path);
  RandomStream mutation(seed, StreamPurpose::mutation, path);

  const auto index_a = static_cast<std::size_t>(detail::tournament_select(fitness, options.tournament_size, selection));
  const auto index_b = static_cast<std::size_t>(detail::tournament_select(fitness, options.tournament_size, selection));
  const Genome& parent_a = parents[index_a];
  const Genome& parent_b = parents[index_b];

  bool crossed = false;
  Genome child;
  if (choice) {
    if (choice->crossover < 2) {
      GeneticAlgorithmOptions chosen = options;
      chosen.crossover = choice->crossover == 0 ? CrossoverKind::blend : CrossoverKind::uniform;
      child = detail::crossover(space, chosen, parent_a, parent_b, crossing);
      crossed = true;
    }
  } else if (crossing.bernoulli(options.crossover_rate)) {
    child = detail::crossover(space, options, parent_a, parent_b, crossing);
    crossed = true;
  }
  if (crossed) {
    child.parent_a = parent_a.id;
    child.parent_b = parent_b.id;
  } else {
    child.x = parent_a.x;
    child.step_size = parent_a.step_size;
    child.parent_a = parent_a.id;
    child.parent_b = parent_a.id;
  }
  if (parent_fitness != nullptr) {
    *parent_fitness = crossed ? std::min(fitness[index_a], fitness[index_b]) : fitness[index_a];
  }
  detail::mutate(space, options, child, mutation, choice ? mutation_operator_step_factors[choice->mutation] : 1.0);
  return child;
}

std::string genome_length_mismatch(std::string_view where, const Genome& genome, Eigen::Index genes) {
  return std::string(where) + ": genome " + std::to_string(genome.id) + " has " + std::to_string(genome.x.size()) +
         " genes and " + std::to_string(genome.step_size.size()) + " step sizes, the search space has " +
         std::to_string(genes) + " genes";
}

bool has_length(const Genome& genome, Eigen::Index genes) {
  return genome.x.size() == genes && genome.step_size.size() == genes;
}

}  // namespace

void validate(const GeneticAlgorithmOptions& options) {
  const int population = options.population_size;
  require(population >= 2 && population <= max_population_size, "population_size",
          population < 2 ? ">= 2" : "<= " + std::to_string(max_population_size) + " (the limit of a population)",
          std::to_string(population));
  require(options.elite_count >= 0 && options.elite_count < population, "elite_count",
          "in [0, population_size - 1] = [0, " + std::to_string(population - 1) + "]",
          std::to_string(options.elite_count));
  require(options.tournament_size >= 1 && options.tournament_size <= population, "tournament_size",
          "in [1, population_size] = [1, " + std::to_string(population) + "]",
          std::to_string(options.tournament_size));
  require(to_string(options.crossover) != "unknown", "crossover", "\"uniform\" or \"blend\"",
          std::to_string(static_cast<int>(options.crossover)));
  require_in(options.crossover_rate, 0.0, false, 1.0, false, "crossover_rate");
  require_in(options.blend_alpha, 0.0, false, 2.0, false, "blend_alpha");
  require_in(options.initial_step_size, 0.0, true, 1.0, false, "initial_step_size");
  require_in(options.min_step_size, 0.0, true, options.max_step_size, false, "min_step_size",
             "(0, ga.max_step_size]");
  require_in(options.max_step_size, options.min_step_size, false, 1.0, false, "max_step_size",
             "[ga.min_step_size, 1]");
  require(to_string(options.step_size_adaptation) != "unknown", "step_size_adaptation",
          "\"per_gene\", \"per_group\" or \"global\"",
          std::to_string(static_cast<int>(options.step_size_adaptation)));
  require_in(options.categorical_mutation_rate, 0.0, false, 1.0, false, "categorical_mutation_rate");
  require(to_string(options.operator_selection) != "unknown", "operator_selection", "\"fixed\" or \"bandit\"",
          std::to_string(static_cast<int>(options.operator_selection)));
  require_in(options.bandit_min_probability, 0.0, false, 1.0 / 3.0, true, "bandit_min_probability");
  require_in(options.bandit_learning_rate, 0.0, true, 1.0, false, "bandit_learning_rate");
}

Options to_options(const GeneticAlgorithmOptions& options) {
  Options result;
  result.set("population_size", std::int64_t{options.population_size});
  result.set("elite_count", std::int64_t{options.elite_count});
  result.set("tournament_size", std::int64_t{options.tournament_size});
  result.set("crossover", std::string(to_string(options.crossover)));
  result.set("crossover_rate", options.crossover_rate);
  result.set("blend_alpha", options.blend_alpha);
  result.set("initial_step_size", options.initial_step_size);
  result.set("min_step_size", options.min_step_size);
  result.set("max_step_size", options.max_step_size);
  result.set("step_size_adaptation", std::string(to_string(options.step_size_adaptation)));
  result.set("categorical_mutation_rate", options.categorical_mutation_rate);
  result.set("operator_selection", std::string(to_string(options.operator_selection)));
  result.set("bandit_min_probability", options.bandit_min_probability);
  result.set("bandit_learning_rate", options.bandit_learning_rate);
  return result;
}

GeneticAlgorithmOptions genetic_algorithm_options(const Options& options) {
  GeneticAlgorithmOptions result;
  result.population_size = static_cast<int>(options.integer("population_size"));
  result.elite_count = static_cast<int>(options.integer("elite_count"));
  result.tournament_size = static_cast<int>(options.integer("tournament_size"));
  const auto crossover = from_string<CrossoverKind>(options.string("crossover"));
  const auto adaptation = from_string<StepSizeAdaptation>(options.string("step_size_adaptation"));
  if (!crossover) throw ConfigError("ga.crossover: unknown \"" + options.string("crossover") + "\"");
  if (!adaptation) {
    throw ConfigError("ga.step_size_adaptation: unknown \"" + options.string("step_size_adaptation") + "\"");
  }
  result.crossover = *crossover;
  result.step_size_adaptation = *adaptation;
  result.crossover_rate = options.real("crossover_rate");
  result.blend_alpha = options.real("blend_alpha");
  result.initial_step_size = options.real("initial_step_size");
  result.min_step_size = options.real("min_step_size");
  result.max_step_size = options.real("max_step_size");
  result.categorical_mutation_rate = options.real("categorical_mutation_rate");
  const auto selection = from_string<OperatorSelection>(options.string("operator_selection"));
  if (!selection) {
    throw ConfigError("ga.operator_selection: unknown \"" + options.string("operator_selection") + "\"");
  }
  result.operator_selection = *selection;
  result.bandit_min_probability = options.real("bandit_min_probability");
  result.bandit_learning_rate = options.real("bandit_learning_rate");
  validate(result);
  return result;
}

namespace detail {

double reflect_into_unit(double x) {
  if (!std::isfinite(x)) return x > 0.0 ? 1.0 : 0.0;  // NaN and -inf to 0, +inf to 1
  if (x >= 0.0 && x <= 1.0) return x;
  // Reflection at 0 and 1 is a fold with period 2.
  double folded = std::fmod(std::abs(x), 2.0);
  if (folded > 1.0) folded = 2.0 - folded;
  return std::clamp(folded, 0.0, 1.0);
}

int tournament_select(const std::vector<double>& fitness, int tournament_size, RandomStream& stream) {
  const auto count = static_cast<std::uint64_t>(fitness.size());
  int winner = -1;
  for (int round = 0; round < tournament_size; ++round) {
    const auto candidate = static_cast<int>(stream.below(count));
    if (winner < 0) {
      winner = candidate;
      continue;
    }
    const double candidate_fitness = fitness[static_cast<std::size_t>(candidate)];
    const double winner_fitness = fitness[static_cast<std::size_t>(winner)];
    if (candidate_fitness < winner_fitness || (candidate_fitness == winner_fitness && candidate < winner)) {
      winner = candidate;
    }
  }
  return winner;
}

Genome crossover(const SearchSpace& space, const GeneticAlgorithmOptions& options, const Genome& parent_a,
                 const Genome& parent_b, RandomStream& stream) {
  Genome child;
  child.x = parent_a.x;
  child.step_size = parent_a.step_size;
  for (Eigen::Index i = 0; i < space.size(); ++i) {
    const bool categorical = space.is_categorical(i);
    if (options.crossover == CrossoverKind::uniform || categorical) {
      if (stream.bernoulli(0.5)) {
        child.x[i] = parent_b.x[i];
        child.step_size[i] = parent_b.step_size[i];
      }
      continue;
    }
    // BLX-alpha: uniform over the parents' interval stretched by alpha * d on both sides.
    const double low = std::min(parent_a.x[i], parent_b.x[i]);
    const double high = std::max(parent_a.x[i], parent_b.x[i]);
    const double spread = options.blend_alpha * (high - low);
    child.x[i] = reflect_into_unit(stream.uniform(low - spread, high + spread));
    child.step_size[i] = std::sqrt(parent_a.step_size[i] * parent_b.step_size[i]);
  }
  return child;
}

void mutate(const SearchSpace& space, const GeneticAlgorithmOptions& options, Genome& genome,
            RandomStream& stream, double step_factor) {
  const StepSizeLayout layout = step_size_layout(space, options.step_size_adaptation);
  if (layout.count == 0) return;
  const auto parameters = static_cast<std::size_t>(layout.count);

  // Current value of each step-size parameter: the geometric mean of its genes' step sizes (they agree
  // unless crossover mixed genes of one group from different parents).
  std::vector<double> log_sum(parameters, 0.0);
  std::vector<int> members(parameters, 0);
  for (Eigen::Index i = 0; i < space.size(); ++i) {
    const auto k = static_cast<std::size_t>(layout.parameter_of_gene[static_cast<std::size_t>(i)]);
    log_sum[k] += std::log(genome.step_size[i]);
    ++members[k];
  }

  // Log-normal self-adaptation (Schwefel): one common draw, one per parameter. tau_local counts the
  // step-size parameters; tau_global counts the mutation groups (a block of real genes is one group,
  // an ungrouped gene its own), which is the number of parameters except for per_gene with groups or
  // blocks: the common factor learns the overall scale, and with n = 1000 coordinates of one block
  // 1/sqrt(2n) = 0.022 left the step sizes at their initial value for 1000 generations.
  const double n = static_cast<double>(layout.count);
  const double groups = options.step_size_adaptation == StepSizeAdaptation::per_gene
                            ? static_cast<double>(space.group_count())
                            : n;
  const double tau_global = 1.0 / std::sqrt(2.0 * groups);
  const double tau_local = 1.0 / std::sqrt(2.0 * std::sqrt(n));
  const double common = stream.normal();
  std::vector<double> sigma(parameters);
  for (std::size_t k = 0; k < parameters; ++k) {
    const double current = std::exp(log_sum[k] / static_cast<double>(members[k]));
    const double adapted = current * std::exp(tau_global * common + tau_local * stream.normal()) * step_factor;
    sigma[k] = std::clamp(adapted, options.min_step_size, options.max_step_size);
  }

  for (Eigen::Index i = 0; i < space.size(); ++i) {
    const double step = sigma[static_cast<std::size_t>(layout.parameter_of_gene[static_cast<std::size_t>(i)])];
    genome.step_size[i] = step;
    if (!space.is_categorical(i)) {
      genome.x[i] = reflect_into_unit(genome.x[i] + step * stream.normal());
      continue;
    }
    const GeneSpec& gene = space.gene(i);
    if (!stream.bernoulli(options.categorical_mutation_rate)) continue;
    // Jump to one of the other choices, uniformly, and sit in the centre of its cell.
    const auto count = static_cast<std::uint64_t>(gene.choices.size());
    const double scaled = std::floor(std::clamp(genome.x[i], 0.0, 1.0) * static_cast<double>(count));
    const std::uint64_t current = std::min(static_cast<std::uint64_t>(scaled), count - 1);
    std::uint64_t next = stream.below(count - 1);
    if (next >= current) ++next;
    genome.x[i] = (static_cast<double>(next) + 0.5) / static_cast<double>(count);
  }
}

std::size_t OperatorBandit::choose(double u) const {
  double cumulative = 0.0;
  for (std::size_t k = 0; k + 1 < operator_count; ++k) {
    cumulative += probability[k];
    if (u < cumulative) return k;
  }
  return operator_count - 1;
}

void OperatorBandit::update(const std::array<std::int64_t, operator_count>& counts,
                            const std::array<double, operator_count>& credit_sums, double min_probability,
                            double learning_rate) {
  std::array<double, operator_count> mean{};
  double largest = 0.0;
  bool used = false;
  for (std::size_t k = 0; k < operator_count; ++k) {
    if (counts[k] == 0) continue;
    used = true;
    mean[k] = credit_sums[k] / static_cast<double>(counts[k]);
    largest = std::max(largest, mean[k]);
  }
  if (!used) return;
  // Rewards relative to the generation's best operator: the scale of fitness gains shrinks as the
  // search converges, the ranking of the operators is what matters.
  for (std::size_t k = 0; k < operator_count; ++k) {
    if (counts[k] == 0) continue;
    const double reward = largest > 0.0 ? mean[k] / largest : 0.0;
    quality[k] += learning_rate * (reward - quality[k]);
  }
  std::size_t leader = 0;
  for (std::size_t k = 1; k < operator_count; ++k) {
    if (quality[k] > quality[leader]) leader = k;
  }
  const double max_probability = 1.0 - static_cast<double>(operator_count - 1) * min_probability;
  double sum = 0.0;
  for (std::size_t k = 0; k < operator_count; ++k) {
    const double target = k == leader ? max_probability : min_probability;
    probability[k] += learning_rate * (target - probability[k]);
    sum += probability[k];
  }
  for (double& p : probability) p /= sum;  // keeps the sum at 1 against rounding drift
}

}  // namespace detail

GeneticAlgorithm::GeneticAlgorithm(SearchSpace space, GeneticAlgorithmOptions options, std::uint64_t seed)
    : space_(std::move(space)), options_(options), seed_(seed) {
  validate(options_);
  population_ = initial_population();
  if (bandit()) records_.assign(population_.size(), ChildRecord{});  // the initial genomes earn no credit
}

std::vector<Genome> GeneticAlgorithm::initial_population() const {
  const Eigen::Index genes = space_.size();
  std::vector<Genome> population;
  population.reserve(static_cast<std::size_t>(options_.population_size));
  for (int individual = 0; individual < options_.population_size; ++individual) {
    RandomStream stream(seed_, StreamPurpose::initial_population, {static_cast<std::uint64_t>(individual)});
    Genome genome;
    genome.id = numbering_.id(0, individual, options_.population_size);
    genome.generation = 0;
    genome.x.resize(genes);
    // Scalar genes uniform over their range; block coordinates spread around their initial value.
    const Eigen::Index scalars = space_.scalar_count();
    for (Eigen::Index i = 0; i < scalars; ++i) genome.x[i] = stream.uniform();
    if (genes > scalars) {
      const Eigen::VectorXd centre = space_.initial_point();
      const Eigen::VectorXd spread = space_.initial_spread(0.0);
      for (Eigen::Index i = scalars; i < genes; ++i) {
        genome.x[i] = detail::reflect_into_unit(centre[i] + spread[i] * stream.normal());
      }
    }
    genome.step_size = Eigen::VectorXd::Constant(genes, options_.initial_step_size);
    population.push_back(std::move(genome));
  }
  return population;
}

void GeneticAlgorithm::tell(const std::vector<double>& fitness) {
  if (fitness.size() != population_.size()) {
    throw Error("GeneticAlgorithm::tell: got " + std::to_string(fitness.size()) + " fitness values for a population of " +
                std::to_string(population_.size()) + " (generation " + std::to_string(generation_) + ")");
  }
  const std::vector<double> scores = strategy_detail::sanitized(fitness);
  const std::vector<int> order = strategy_detail::ranking(scores);
  if (bandit()) credit_operators(scores);
  strategy_detail::track_best(population_, scores, order, best_, best_fitness_);

  const std::int64_t next_generation = generation_ + 1;
  const auto population_size = static_cast<std::int64_t>(options_.population_size);
  std::vector<Genome> next;
  next.reserve(population_.size());
  std::vector<ChildRecord> records(bandit() ? population_.size() : 0);
  for (int index = 0; index < options_.population_size; ++index) {
    Genome child;
    ChildRecord record;
    if (index < options_.elite_count) {
      const Genome& elite = population_[static_cast<std::size_t>(order[static_cast<std::size_t>(index)])];
      child = elite;
      child.parent_a = elite.id;
      child.parent_b = elite.id;
    } else {
      child = make_child(population_, scores, index, record);
    }
    if (bandit()) records[static_cast<std::size_t>(index)] = record;
    child.id = numbering_.id(next_generation, index, population_size);
    child.generation = next_generation;
    next.push_back(std::move(child));
  }
  population_ = std::move(next);
  records_ = std::move(records);
  generation_ = next_generation;
}

void GeneticAlgorithm::set_genome_numbering(const GenomeNumbering& numbering) {
  numbering_ = numbering;
  for (std::size_t index = 0; index < population_.size(); ++index) {
    population_[index].id = numbering_.id(generation_, static_cast<std::int64_t>(index), options_.population_size);
  }
}

void GeneticAlgorithm::accept_migrants(const std::vector<Genome>& migrants) {
  if (migrants.size() > static_cast<std::size_t>(max_migrants())) {
    throw Error("GeneticAlgorithm::accept_migrants: " + std::to_string(migrants.size()) + " migrants for " +
                std::to_string(max_migrants()) + " non-elite places");
  }
  for (std::size_t k = 0; k < migrants.size(); ++k) {
    const Genome& migrant = migrants[k];
    if (migrant.x.size() != space_.size() || migrant.step_size.size() != space_.size()) {
      throw Error("GeneticAlgorithm::accept_migrants: a migrant of " + std::to_string(migrant.x.size()) +
                  " genes for a search space of " + std::to_string(space_.size()));
    }
    const std::size_t slot = population_.size() - 1 - k;  // the best migrant takes the last place
    Genome& copy = population_[slot];
    copy.x = migrant.x;
    copy.step_size = migrant.step_size;
    copy.parent_a = migrant.id;
    copy.parent_b = migrant.id;
    if (bandit()) records_[slot] = ChildRecord{};  // bred elsewhere: no operator earns credit for it
  }
}

Genome GeneticAlgorithm::make_child(const std::vector<Genome>& parents, const std::vector<double>& fitness,
                                    int child_index, ChildRecord& record) const {
  // Each child has its own streams, keyed by the generation it belongs to and its index in it.
  const std::initializer_list<std::uint64_t> path{static_cast<std::uint64_t>(generation_ + 1),
                                                  static_cast<std::uint64_t>(child_index)};
  if (!bandit()) return breed_child(space_, options_, parents, fitness, seed_, path);
  RandomStream chooser(seed_, StreamPurpose::operator_choice, path);
  const std::size_t crossover = crossover_bandit_.choose(chooser.uniform());
  const std::size_t mutation = mutation_bandit_.choose(chooser.uniform());
  record.crossover = static_cast<std::int64_t>(crossover);
  record.mutation = static_cast<std::int64_t>(mutation);
  return breed_child(space_, options_, parents, fitness, seed_, path, OperatorChoice{crossover, mutation},
                     &record.parent_fitness);
}

namespace {

/// A child's credit: its gain over its better parent; a gain from or to a non-finite (worst) fitness
/// has no scale and earns none.
double gain_of(double parent_fitness, double child_fitness) {
  return std::isfinite(parent_fitness) && std::isfinite(child_fitness) ? std::max(0.0, parent_fitness - child_fitness)
                                                                       : 0.0;
}

}  // namespace

void GeneticAlgorithm::credit_offspring(const ChildRecord& record, double score) {
  const double gain = gain_of(record.parent_fitness, score);
  const auto c = static_cast<std::size_t>(record.crossover);
  const auto m = static_cast<std::size_t>(record.mutation);
  ++steady_crossover_counts_[c];
  steady_crossover_credits_[c] += gain;
  ++steady_mutation_counts_[m];
  steady_mutation_credits_[m] += gain;
  const std::int64_t credited =
      std::accumulate(steady_crossover_counts_.begin(), steady_crossover_counts_.end(), std::int64_t{0});
  if (credited < options_.population_size - options_.elite_count) return;
  crossover_counts_ = steady_crossover_counts_;
  crossover_credits_ = steady_crossover_credits_;
  mutation_counts_ = steady_mutation_counts_;
  mutation_credits_ = steady_mutation_credits_;
  steady_crossover_counts_ = {};
  steady_crossover_credits_ = {};
  steady_mutation_counts_ = {};
  steady_mutation_credits_ = {};
  update_bandits();
}

void GeneticAlgorithm::credit_operators(const std::vector<double>& scores) {
  crossover_counts_ = {};
  crossover_credits_ = {};
  mutation_counts_ = {};
  mutation_credits_ = {};
  // In child order, so the sums (and the update) are the same however evaluations were scheduled.
  for (std::size_t i = 0; i < records_.size() && i < scores.size(); ++i) {
    const ChildRecord& record = records_[i];
    if (record.crossover < 0) continue;
    const double gain = gain_of(record.parent_fitness, scores[i]);
    const auto c = static_cast<std::size_t>(record.crossover);
    const auto m = static_cast<std::size_t>(record.mutation);
    ++crossover_counts_[c];
    crossover_credits_[c] += gain;
    ++mutation_counts_[m];
    mutation_credits_[m] += gain;
  }
  update_bandits();
}

void GeneticAlgorithm::update_bandits() {
  crossover_bandit_.update(crossover_counts_, crossover_credits_, options_.bandit_min_probability,
                           options_.bandit_learning_rate);
  mutation_bandit_.update(mutation_counts_, mutation_credits_, options_.bandit_min_probability,
                          options_.bandit_learning_rate);
}

Genome GeneticAlgorithm::breed_offspring(std::int64_t offspring_index) {
  if (pool_.empty()) {
    throw Error("GeneticAlgorithm::breed_offspring: the pool is empty; tell_offspring() the evaluated initial "
                "genomes first (offspring_index " + std::to_string(offspring_index) + ")");
  }
  if (offspring_index < 0) {
    throw Error("GeneticAlgorithm::breed_offspring: offspring_index must be >= 0, got " +
                std::to_string(offspring_index));
  }
  // Tournaments draw with replacement, so a pool smaller than tournament_size is fine.
  const std::initializer_list<std::uint64_t> path{steady_state_stream_marker,
                                                  static_cast<std::uint64_t>(offspring_index)};
  const auto population_size = static_cast<std::int64_t>(options_.population_size);
  const std::int64_t id = population_size + offspring_index;
  Genome child;
  if (bandit()) {
    RandomStream chooser(seed_, StreamPurpose::operator_choice, path);
    ChildRecord record;
    const std::size_t crossover = crossover_bandit_.choose(chooser.uniform());
    const std::size_t mutation = mutation_bandit_.choose(chooser.uniform());
    record.crossover = static_cast<std::int64_t>(crossover);
    record.mutation = static_cast<std::int64_t>(mutation);
    child = breed_child(space_, options_, pool_, pool_fitness_, seed_, path, OperatorChoice{crossover, mutation},
                        &record.parent_fitness);
    pending_[id] = record;
  } else {
    child = breed_child(space_, options_, pool_, pool_fitness_, seed_, path);
  }
  child.id = id;
  child.generation = child.id / population_size;
  return child;
}

void GeneticAlgorithm::tell_offspring(const Genome& genome, double fitness) {
  if (!has_length(genome, space_.size())) {
    throw Error(genome_length_mismatch("GeneticAlgorithm::tell_offspring", genome, space_.size()));
  }
  const double score = std::isfinite(fitness) ? fitness : std::numeric_limits<double>::infinity();
  if (!best_ || score < best_fitness_) {
    best_ = genome;
    best_fitness_ = score;
  }
  if (const auto pending = pending_.find(genome.id); pending != pending_.end()) {
    credit_offspring(pending->second, score);
    pending_.erase(pending);
  }
  if (pool_.size() < static_cast<std::size_t>(options_.population_size)) {
    pool_.push_back(genome);
    pool_fitness_.push_back(score);
    return;
  }
  // The worst member; >= picks the highest index among equals, the loser of every tournament tie.
  std::size_t worst = 0;
  for (std::size_t i = 1; i < pool_fitness_.size(); ++i) {
    if (pool_fitness_[i] >= pool_fitness_[worst]) worst = i;
  }
  if (score < pool_fitness_[worst]) {
    pool_[worst] = genome;
    pool_fitness_[worst] = score;
  }
}

StrategyStatistics GeneticAlgorithm::statistics() const {
  double log_sum = 0.0;
  double smallest = std::numeric_limits<double>::infinity();
  double largest = 0.0;
  std::int64_t count = 0;
  for (const Genome& genome : population_) {
    for (Eigen::Index i = 0; i < genome.step_size.size(); ++i) {
      log_sum += std::log(genome.step_size[i]);
      smallest = std::min(smallest, genome.step_size[i]);
      largest = std::max(largest, genome.step_size[i]);
      ++count;
    }
  }
  StrategyStatistics result{{"mean_step_size", count > 0 ? std::exp(log_sum / static_cast<double>(count)) : 0.0},
                            {"min_step_size", count > 0 ? smallest : 0.0},
                            {"max_step_size", largest}};
  if (!bandit()) return result;
  const auto add = [&result](std::string_view kind, const auto& names, const std::array<std::int64_t, 3>& counts,
                             const std::array<double, 3>& credits, const detail::OperatorBandit& bandit) {
    for (std::size_t k = 0; k < names.size(); ++k) {
      const std::string prefix = std::string(kind) + "_" + std::string(names[k]) + "_";
      result.emplace_back(prefix + "count", static_cast<double>(counts[k]));
      result.emplace_back(prefix + "credit", counts[k] > 0 ? credits[k] / static_cast<double>(counts[k]) : 0.0);
      result.emplace_back(prefix + "probability", bandit.probability[k]);
    }
  };
  add("crossover", crossover_operator_names, crossover_counts_, crossover_credits_, crossover_bandit_);
  add("mutation", mutation_operator_names, mutation_counts_, mutation_credits_, mutation_bandit_);
  return result;
}

namespace {

// The options as state entries: stored so a checkpoint whose options disagree with the run's is refused.
void put_options(StrategyState& state, const GeneticAlgorithmOptions& options) {
  state.put("options/population_size", std::int64_t{options.population_size});
  state.put("options/elite_count", std::int64_t{options.elite_count});
  state.put("options/tournament_size", std::int64_t{options.tournament_size});
  state.put("options/crossover", static_cast<std::int64_t>(options.crossover));
  state.put("options/crossover_rate", options.crossover_rate);
  state.put("options/blend_alpha", options.blend_alpha);
  state.put("options/initial_step_size", options.initial_step_size);
  state.put("options/min_step_size", options.min_step_size);
  state.put("options/max_step_size", options.max_step_size);
  state.put("options/step_size_adaptation", static_cast<std::int64_t>(options.step_size_adaptation));
  state.put("options/categorical_mutation_rate", options.categorical_mutation_rate);
  // Written only when not the default, so "fixed" states are those of layout version 1 before the bandit.
  if (options.operator_selection == OperatorSelection::bandit) {
    state.put("options/operator_selection", static_cast<std::int64_t>(options.operator_selection));
    state.put("options/bandit_min_probability", options.bandit_min_probability);
    state.put("options/bandit_learning_rate", options.bandit_learning_rate);
  }
}

std::vector<double> to_vector(const std::array<double, 3>& values) { return {values.begin(), values.end()}; }
std::vector<std::int64_t> to_vector(const std::array<std::int64_t, 3>& values) {
  return {values.begin(), values.end()};
}

/// A stored bandit array: 3 finite values (probabilities: in [0, 1], summing to 1 within 1e-9).
std::array<double, 3> bandit_reals(const StrategyState& state, const std::string& entry, bool probabilities) {
  const std::vector<double> values = state.real_values(entry, 3);
  std::array<double, 3> result{};
  double sum = 0.0;
  for (std::size_t k = 0; k < 3; ++k) {
    const double value = values[k];
    const bool ok = probabilities ? (value >= 0.0 && value <= 1.0) : std::isfinite(value);
    if (!ok) {
      throw StorageError("the checkpoint's GA state has " + entry + "[" + std::to_string(k) + "] = " +
                         format_number(value));
    }
    result[k] = value;
    sum += value;
  }
  if (probabilities && !(std::abs(sum - 1.0) <= 1e-9)) {
    throw StorageError("the checkpoint's GA state has " + entry + " summing to " + format_number(sum) + ", not 1");
  }
  return result;
}

std::array<std::int64_t, 3> bandit_counts(const StrategyState& state, const std::string& entry) {
  const std::vector<std::int64_t> values = state.integer_values(entry, 3);
  std::array<std::int64_t, 3> result{};
  for (std::size_t k = 0; k < 3; ++k) {
    if (values[k] < 0) {
      throw StorageError("the checkpoint's GA state has " + entry + "[" + std::to_string(k) + "] = " +
                         std::to_string(values[k]));
    }
    result[k] = values[k];
  }
  return result;
}

}  // namespace

StrategyState GeneticAlgorithm::save_state() const {
  StrategyState state;
  state.strategy = std::string(name());
  state.version = state_version;
  state.put("seed", strategy_detail::seed_bits(seed_));
  state.put("generation", generation_);
  put_options(state, options_);
  // The genome length: checked on load even when no genome is stored (generation 0, no pool yet).
  state.put("genes", static_cast<std::int64_t>(space_.size()));
  // Generation 0's population (all of a steady-state run's) is the initial one, drawn from the seed
  // again on load: stored, it would be half of a steady-state checkpoint.
  if (generation_ > 0) state.put_genomes("population", population_);
  state.put_genomes("best", best_ ? std::vector<Genome>{*best_} : std::vector<Genome>{});
  state.put("best_fitness", best_fitness_);
  state.put_genomes("pool", pool_);
  state.put("pool_fitness", pool_fitness_);
  if (bandit()) {
    state.put("bandit/crossover_quality", to_vector(crossover_bandit_.quality));
    state.put("bandit/crossover_probability", to_vector(crossover_bandit_.probability));
    state.put("bandit/mutation_quality", to_vector(mutation_bandit_.quality));
    state.put("bandit/mutation_probability", to_vector(mutation_bandit_.probability));
    state.put("bandit/crossover_count", to_vector(crossover_counts_));
    state.put("bandit/crossover_credit", to_vector(crossover_credits_));
    state.put("bandit/mutation_count", to_vector(mutation_counts_));
    state.put("bandit/mutation_credit", to_vector(mutation_credits_));
    state.put("bandit/steady_crossover_count", to_vector(steady_crossover_counts_));
    state.put("bandit/steady_crossover_credit", to_vector(steady_crossover_credits_));
    state.put("bandit/steady_mutation_count", to_vector(steady_mutation_counts_));
    state.put("bandit/steady_mutation_credit", to_vector(steady_mutation_credits_));
    std::vector<std::int64_t> crossover;
    std::vector<std::int64_t> mutation;
    std::vector<double> parent_fitness;
    for (const ChildRecord& record : records_) {
      crossover.push_back(record.crossover);
      mutation.push_back(record.mutation);
      parent_fitness.push_back(record.parent_fitness);
    }
    state.put("bandit/child_crossover", crossover);
    state.put("bandit/child_mutation", mutation);
    state.put("bandit/child_parent_fitness", parent_fitness);
  }
  return state;
}

void GeneticAlgorithm::load_state(const StrategyState& state) {
  state.require(name(), state_version);
  const auto stored_seed = static_cast<std::uint64_t>(state.integer("seed"));
  if (stored_seed != seed_) {
    throw StorageError("the checkpoint's GA state has seed " + std::to_string(stored_seed) + ", the run's seed is " +
                       std::to_string(seed_));
  }
  StrategyState expected_options;
  put_options(expected_options, options_);
  if (!bandit() && state.has("options/operator_selection")) {
    throw StorageError("the checkpoint's GA state has options/operator_selection = " +
                       std::to_string(state.integer("options/operator_selection")) +
                       " (bandit), the run's config has fixed");
  }
  for (const auto& [entry, array] : expected_options.integers) {
    if (state.integer(entry) != array.values.front()) {
      throw StorageError("the checkpoint's GA state has " + entry + " = " + std::to_string(state.integer(entry)) +
                         ", the run's config has " + std::to_string(array.values.front()));
    }
  }
  for (const auto& [entry, array] : expected_options.reals) {
    if (state.real(entry) != array.values.front()) {
      throw StorageError("the checkpoint's GA state has " + entry + " = " + format_number(state.real(entry)) +
                         ", the run's config has " + format_number(array.values.front()));
    }
  }
  const std::int64_t generation = state.integer("generation");
  if (generation < 0) throw StorageError("the checkpoint's GA state has generation " + std::to_string(generation));
  const Eigen::Index genes = space_.size();
  if (state.version >= 2 && state.integer("genes") != genes) {
    throw StorageError("the checkpoint's GA state has genes = " + std::to_string(state.integer("genes")) +
                       ", the run's search space has " + std::to_string(genes));
  }
  // Version 1 stored the population at every generation; later versions from generation 1 on.
  std::vector<Genome> population = state.version >= 2 && generation == 0
                                       ? initial_population()
                                       : state.genomes("population", genes, options_.population_size);
  std::vector<Genome> best = state.genomes("best", genes);
  if (best.size() > 1) throw StorageError("the checkpoint's GA state has " + std::to_string(best.size()) + " best genomes");
  const double best_fitness = state.real("best_fitness");
  if (best.empty() != std::isinf(best_fitness)) {
    throw StorageError("the checkpoint's GA state has best_fitness " + format_number(best_fitness) +
                       (best.empty() ? " but no best genome" : " for a best genome"));
  }
  std::vector<Genome> pool = state.genomes("pool", genes);
  std::vector<double> pool_fitness = state.real_values("pool_fitness", static_cast<std::int64_t>(pool.size()));
  check_state(population, pool, pool_fitness);
  for (const Genome& genome : population) {
    if (genome.generation != generation) {
      throw StorageError("the checkpoint's GA state is at generation " + std::to_string(generation) +
                         " but holds genome " + std::to_string(genome.id) + " of generation " +
                         std::to_string(genome.generation));
    }
  }
  detail::OperatorBandit crossover_bandit;
  detail::OperatorBandit mutation_bandit;
  std::array<std::int64_t, 3> crossover_counts{};
  std::array<double, 3> crossover_credits{};
  std::array<std::int64_t, 3> mutation_counts{};
  std::array<double, 3> mutation_credits{};
  std::array<std::int64_t, 3> steady_crossover_counts{};
  std::array<double, 3> steady_crossover_credits{};
  std::array<std::int64_t, 3> steady_mutation_counts{};
  std::array<double, 3> steady_mutation_credits{};
  std::vector<ChildRecord> records;
  if (bandit()) {
    crossover_bandit.quality = bandit_reals(state, "bandit/crossover_quality", false);
    crossover_bandit.probability = bandit_reals(state, "bandit/crossover_probability", true);
    mutation_bandit.quality = bandit_reals(state, "bandit/mutation_quality", false);
    mutation_bandit.probability = bandit_reals(state, "bandit/mutation_probability", true);
    crossover_counts = bandit_counts(state, "bandit/crossover_count");
    crossover_credits = bandit_reals(state, "bandit/crossover_credit", false);
    mutation_counts = bandit_counts(state, "bandit/mutation_count");
    mutation_credits = bandit_reals(state, "bandit/mutation_credit", false);
    steady_crossover_counts = bandit_counts(state, "bandit/steady_crossover_count");
    steady_crossover_credits = bandit_reals(state, "bandit/steady_crossover_credit", false);
    steady_mutation_counts = bandit_counts(state, "bandit/steady_mutation_count");
    steady_mutation_credits = bandit_reals(state, "bandit/steady_mutation_credit", false);
    const auto size = static_cast<std::int64_t>(options_.population_size);
    const std::vector<std::int64_t> crossover = state.integer_values("bandit/child_crossover", size);
    const std::vector<std::int64_t> mutation = state.integer_values("bandit/child_mutation", size);
    const std::vector<double> parent_fitness = state.real_values("bandit/child_parent_fitness", size);
    for (std::size_t i = 0; i < crossover.size(); ++i) {
      const bool elite = crossover[i] == -1 && mutation[i] == -1;
      const bool bred = crossover[i] >= 0 && crossover[i] < 3 && mutation[i] >= 0 && mutation[i] < 3;
      if (!(elite || bred) || std::isnan(parent_fitness[i]) || parent_fitness[i] == -std::numeric_limits<double>::infinity()) {
        throw StorageError("the checkpoint's GA state has child " + std::to_string(i) + " with operators (" +
                           std::to_string(crossover[i]) + ", " + std::to_string(mutation[i]) +
                           ") and parent fitness " + format_number(parent_fitness[i]));
      }
      records.push_back(ChildRecord{crossover[i], mutation[i], parent_fitness[i]});
    }
  }
  // Every check passed: only now does the GA change.
  crossover_bandit_ = crossover_bandit;
  mutation_bandit_ = mutation_bandit;
  crossover_counts_ = crossover_counts;
  crossover_credits_ = crossover_credits;
  mutation_counts_ = mutation_counts;
  mutation_credits_ = mutation_credits;
  records_ = std::move(records);
  steady_crossover_counts_ = steady_crossover_counts;
  steady_crossover_credits_ = steady_crossover_credits;
  steady_mutation_counts_ = steady_mutation_counts;
  steady_mutation_credits_ = steady_mutation_credits;
  pending_.clear();  // offspring in flight are bred anew after a resume
  generation_ = generation;
  population_ = std::move(population);
  best_ = best.empty() ? std::nullopt : std::optional<Genome>(std::move(best.front()));
  best_fitness_ = best_fitness;
  pool_ = std::move(pool);
  pool_fitness_ = std::move(pool_fitness);
}

void GeneticAlgorithm::check_state(const std::vector<Genome>& population, const std::vector<Genome>& pool,
                                   const std::vector<double>& pool_fitness) const {
  if (population.size() != static_cast<std::size_t>(options_.population_size)) {
    throw StorageError("the checkpoint's GA population has " + std::to_string(population.size()) +
                       " genomes, ga.population_size is " + std::to_string(options_.population_size));
  }
  const Eigen::Index genes = space_.size();
  auto check = [&](const Genome& genome, std::string_view where) {
    if (!has_length(genome, genes)) {
      throw StorageError(genome_length_mismatch("the checkpoint's GA " + std::string(where), genome, genes));
    }
    for (Eigen::Index i = 0; i < genes; ++i) {
      if (!(genome.x[i] >= 0.0 && genome.x[i] <= 1.0)) {
        throw StorageError("the checkpoint's GA " + std::string(where) + " genome " + std::to_string(genome.id) +
                           " has coordinate " + std::to_string(i) + " = " + format_number(genome.x[i]) +
                           " outside [0, 1]");
      }
    }
    for (Eigen::Index i = 0; i < genome.step_size.size(); ++i) {
      if (!(genome.step_size[i] > 0.0 && std::isfinite(genome.step_size[i]))) {
        throw StorageError("the checkpoint's GA " + std::string(where) + " genome " + std::to_string(genome.id) +
                           " has step size " + format_number(genome.step_size[i]));
      }
    }
  };
  for (const Genome& genome : population) check(genome, "population");
  if (pool.size() > static_cast<std::size_t>(options_.population_size)) {
    throw StorageError("the checkpoint's GA pool has " + std::to_string(pool.size()) +
                       " genomes, at most ga.population_size = " + std::to_string(options_.population_size));
  }
  for (const Genome& genome : pool) check(genome, "pool");
  if (pool_fitness.size() != pool.size()) {
    throw StorageError("the checkpoint's GA pool has " + std::to_string(pool.size()) + " genomes but " +
                       std::to_string(pool_fitness.size()) + " fitness values");
  }
}

}  // namespace metaevo
