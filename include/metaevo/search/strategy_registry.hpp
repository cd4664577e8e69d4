#pragma once
// Where search strategies are named: the GA, sep-CMA-ES, OpenAI-ES, and any a plugin adds. A
// registration is a name, a one-line help, the option schema of its config table and a factory.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "metaevo/core/options.hpp"
#include "metaevo/core/registry.hpp"
#include "metaevo/search/search_space.hpp"
#include "metaevo/search/search_strategy.hpp"

namespace metaevo {

struct SearchStrategyRegistration {
  std::string name;
  std::string help;
  /// The keys of its config table ([ga] for the GA, [search.<name>] for the others).
  OptionSchema options;
  /// Builds the strategy over `space` from resolved options. Throws ConfigError naming a bad option.
  std::function<std::unique_ptr<SearchStrategy>(const SearchSpace& space, const Options& options, std::uint64_t seed)>
      make;
  /// Whether [run] mode = "steady_state" can drive it (only the GA breeds one offspring at a time).
  bool steady_state = false;
};

/// Every registered strategy; the built-in ones (ga, sep_cma_es, openai_es) are registered on first use.
Registry<SearchStrategyRegistration>& search_strategy_registry();
/// Adds a strategy (ConfigError if the name is taken or there is no factory).
void register_search_strategy(SearchStrategyRegistration registration);
/// Resolves `given` against the strategy's schema and builds it; the context of messages is
/// "search.<name>".
std::unique_ptr<SearchStrategy> make_search_strategy(const std::string& name, const SearchSpace& space,
                                                     const Options& options, std::uint64_t seed);

}  // namespace metaevo
