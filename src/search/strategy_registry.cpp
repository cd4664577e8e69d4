#include "metaevo/search/strategy_registry.hpp"

#include "metaevo/core/error.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "metaevo/search/openai_es.hpp"
#include "metaevo/search/sep_cma_es.hpp"

// The schemas repeat each option struct's defaults and ranges for listings and generic reading;
// each strategy's own validate() stays the authority on cross-field rules (e.g. elite_count <
// population_size), so the two cannot disagree on what is accepted.

namespace metaevo {

namespace {

constexpr double unbounded = NumericRange::infinity();

int to_int(std::int64_t value) { return static_cast<int>(value); }

SearchStrategyRegistration genetic_algorithm_registration() {
  const GeneticAlgorithmOptions defaults;
  SearchStrategyRegistration registration;
  registration.name = "ga";
  registration.help = "genetic algorithm: tournament selection, blend or uniform crossover, self-adaptive mutation "
                      "(options in [ga])";
  registration.steady_state = true;
  registration.options = OptionSchema{
      integer_option("population_size", defaults.population_size, NumericRange::closed(2, 1e6), "genomes per generation"),
      integer_option("elite_count", defaults.elite_count, NumericRange::at_least(0),
                     "best genomes copied into the next generation, < population_size"),
      integer_option("tournament_size", defaults.tournament_size, NumericRange::at_least(1),
                     "genomes per selection tournament, <= population_size"),
      choice_option("crossover", std::string(to_string(defaults.crossover)), enum_names<CrossoverKind>(),
                    "how two parents mix"),
      real_option("crossover_rate", defaults.crossover_rate, NumericRange::closed(0, 1),
                  "probability a child has two parents"),
      real_option("blend_alpha", defaults.blend_alpha, NumericRange::closed(0, 2), "BLX-alpha spread"),
      real_option("initial_step_size", defaults.initial_step_size, NumericRange::make(0, true, 1, false),
                  "initial mutation std dev, normalized units"),
      real_option("min_step_size", defaults.min_step_size, NumericRange::make(0, true, 1, false),
                  "floor of the self-adapted step sizes"),
      real_option("max_step_size", defaults.max_step_size, NumericRange::make(0, true, 1, false),
                  "ceiling of the self-adapted step sizes"),
      choice_option("step_size_adaptation", std::string(to_string(defaults.step_size_adaptation)),
                    enum_names<StepSizeAdaptation>(), "one step size per gene, per group (a block is one group) or one"),
      real_option("categorical_mutation_rate", defaults.categorical_mutation_rate, NumericRange::closed(0, 1),
                  "probability a categorical gene jumps"),
      choice_option("operator_selection", std::string(to_string(defaults.operator_selection)),
                    enum_names<OperatorSelection>(),
                    "fixed operators, or an adaptive-pursuit bandit over crossover and mutation operators"),
      real_option("bandit_min_probability", defaults.bandit_min_probability, NumericRange::closed_open(0, 1.0 / 3.0),
                  "bandit: smallest probability of an operator"),
      real_option("bandit_learning_rate", defaults.bandit_learning_rate, NumericRange::make(0, true, 1, false),
                  "bandit: quality and probability update rate"),
  };
  registration.make = [](const SearchSpace& space, const Options& options, std::uint64_t seed) {
    return std::make_unique<GeneticAlgorithm>(space, genetic_algorithm_options(options), seed);
  };
  return registration;
}

SearchStrategyRegistration sep_cma_es_registration() {
  const SepCmaEsOptions defaults;
  SearchStrategyRegistration registration;
  registration.name = "sep_cma_es";
  registration.help = "separable CMA-ES (Ros & Hansen 2008): diagonal covariance, for thousands of real genes";
  registration.options = OptionSchema{
      integer_option("population_size", defaults.population_size, NumericRange::closed(0, 1e6),
                     "lambda; 0 = 4 + floor(3 ln n)"),
      integer_option("parent_count", defaults.parent_count, NumericRange::closed(0, 1e6), "mu; 0 = lambda / 2"),
      real_option("initial_sigma", defaults.initial_sigma, NumericRange::make(0, true, 1, false),
                  "initial step size in normalized units (a block's coordinates: its initial_scale)"),
      real_option("min_sigma", defaults.min_sigma, NumericRange::greater_than(0), "floor of sigma"),
      real_option("max_sigma", defaults.max_sigma, NumericRange::make(0, true, 1e6, false), "ceiling of sigma"),
  };
  registration.make = [](const SearchSpace& space, const Options& options, std::uint64_t seed) {
    SepCmaEsOptions strategy_options;
    strategy_options.population_size = to_int(options.integer("population_size"));
    strategy_options.parent_count = to_int(options.integer("parent_count"));
    strategy_options.initial_sigma = options.real("initial_sigma");
    strategy_options.min_sigma = options.real("min_sigma");
    strategy_options.max_sigma = options.real("max_sigma");
    validate(strategy_options);
    // Scalar genes start with initial_sigma; a block's coordinates with its own initial_scale.
    const Eigen::VectorXd scale =
        space.initial_spread(strategy_options.initial_sigma) / strategy_options.initial_sigma;
    return std::make_unique<SepCmaEs>(space.initial_point(), scale, strategy_options, seed);
  };
  return registration;
}

SearchStrategyRegistration openai_es_registration() {
  const OpenAiEsOptions defaults;
  SearchStrategyRegistration registration;
  registration.name = "openai_es";
  registration.help = "OpenAI-ES (Salimans et al. 2017): antithetic perturbations, centered ranks, Adam on the mean";
  registration.options = OptionSchema{
      integer_option("population_size", defaults.population_size, NumericRange::closed(2, 1e6),
                     "genomes per generation (antithetic pairs: even)"),
      real_option("sigma", defaults.sigma, NumericRange::make(0, true, 1, false), "perturbation std dev, normalized"),
      real_option("learning_rate", defaults.learning_rate, NumericRange::make(0, true, 1, false), "Adam step size"),
      real_option("beta1", defaults.beta1, NumericRange::closed_open(0, 1), "Adam first-moment decay"),
      real_option("beta2", defaults.beta2, NumericRange::closed_open(0, 1), "Adam second-moment decay"),
      real_option("epsilon", defaults.epsilon, NumericRange::make(0, true, 1, false), "Adam denominator guard"),
      real_option("weight_decay", defaults.weight_decay, NumericRange::make(0, false, unbounded, true),
                  "L2 pull of the mean toward its start"),
      real_option("sigma_decay", defaults.sigma_decay, NumericRange::make(0, true, 1, false),
                  "sigma factor per generation"),
      real_option("min_sigma", defaults.min_sigma, NumericRange::greater_than(0), "floor of the decayed sigma"),
  };
  registration.make = [](const SearchSpace& space, const Options& options, std::uint64_t seed) {
    OpenAiEsOptions strategy_options;
    strategy_options.population_size = to_int(options.integer("population_size"));
    strategy_options.sigma = options.real("sigma");
    strategy_options.learning_rate = options.real("learning_rate");
    strategy_options.beta1 = options.real("beta1");
    strategy_options.beta2 = options.real("beta2");
    strategy_options.epsilon = options.real("epsilon");
    strategy_options.weight_decay = options.real("weight_decay");
    strategy_options.sigma_decay = options.real("sigma_decay");
    strategy_options.min_sigma = options.real("min_sigma");
    validate(strategy_options);
    return std::make_unique<OpenAiEs>(space.initial_point(), strategy_options, seed);
  };
  return registration;
}

Registry<SearchStrategyRegistration> builtin_strategies() {
  Registry<SearchStrategyRegistration> registry("search strategy");
  registry.add(genetic_algorithm_registration());
  registry.add(sep_cma_es_registration());
  registry.add(openai_es_registration());
  return registry;
}

}  // namespace

Registry<SearchStrategyRegistration>& search_strategy_registry() {
  static Registry<SearchStrategyRegistration> registry = builtin_strategies();
  return registry;
}

void register_search_strategy(SearchStrategyRegistration registration) {
  if (!registration.make) {
    throw ConfigError("search strategy \"" + registration.name + "\" is registered without a factory");
  }
  search_strategy_registry().add(std::move(registration));
}

std::unique_ptr<SearchStrategy> make_search_strategy(const std::string& name, const SearchSpace& space,
                                                     const Options& options, std::uint64_t seed) {
  const SearchStrategyRegistration& registration = search_strategy_registry().find(name);
  const Options resolved = registration.options.resolve(options.values(), "search." + name);
  std::unique_ptr<SearchStrategy> strategy = registration.make(space, resolved, seed);
  if (strategy == nullptr) throw ConfigError("search strategy \"" + name + "\": the factory returned nothing");
  return strategy;
}

}  // namespace metaevo
