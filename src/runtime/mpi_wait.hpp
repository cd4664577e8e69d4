#pragma once
// How a master waits for another rank's message (private to the runtime's MPI files).
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/status.hpp>
#include <boost/optional.hpp>
#include <chrono>
#include <thread>

namespace metaevo {

/// Waits until a message from `source` with `tag` (boost::mpi::any_source / any_tag allowed) can be
/// received, and returns its status. A blocking probe spins all along; on shared cores that takes
/// one from the workers and from this process's store thread, so this spins only briefly (a reply
/// that is on its way) and then sleeps between probes. docs/benchmarks.md, section (d).
inline boost::mpi::status wait_for_message(const boost::mpi::communicator& communicator, int source, int tag) {
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  boost::optional<boost::mpi::status> found;
  while (!(found = communicator.iprobe(source, tag))) {
    if (std::chrono::steady_clock::now() > spin_until) std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  return *found;
}

}  // namespace metaevo
