// A test plugin that loads on rank 0 and fails on every other MPI rank (Open MPI's rank variable):
// a worker that cannot load a plugin must stop the whole job with its reason, not leave it hanging.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "metaevo/core/plugin.hpp"

namespace {
void register_on_rank_zero_only() {
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank != nullptr && std::string(rank) != "0") throw std::runtime_error(std::string("refused on rank ") + rank);
}
}  // namespace

METAEVO_PLUGIN(register_on_rank_zero_only)
