#include "metaevo/search/search_strategy.hpp"

#include <string>

#include "metaevo/core/error.hpp"

namespace metaevo {

void SearchStrategy::set_genome_numbering(const GenomeNumbering& /*numbering*/) {
  throw Error("search strategy " + std::string(name()) + " cannot run on islands (it cannot renumber its genomes)");
}

void SearchStrategy::accept_migrants(const std::vector<Genome>& /*migrants*/) {
  throw Error("search strategy " + std::string(name()) + " does not take migrants; set islands.migration_size = 0");
}

}  // namespace metaevo
