#pragma once
// MpiSession's insides, shared by the runtime's MPI files (private: Boost.MPI stays out of the
// public headers).
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <optional>

#include "metaevo/runtime/mpi_runtime.hpp"

namespace metaevo {

struct MpiSession::Impl {
  Impl(int& argc, char**& argv) : environment(argc, argv, /*abort_on_exception=*/true) {}
  boost::mpi::environment environment;
  boost::mpi::communicator world;
  std::optional<boost::mpi::communicator> island;  // after split_islands: this rank's island

  /// Where masters and workers exchange evaluations: the island, or the world.
  const boost::mpi::communicator& work() const { return island ? *island : world; }
};

}  // namespace metaevo
