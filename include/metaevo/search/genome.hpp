#pragma once
// One point of the search space plus the self-adaptive mutation state that travels with it.
#include <Eigen/Core>
#include <cstdint>

namespace metaevo {

struct Genome {
  /// Unique within a run: generation * population_size + index in the generation.
  std::int64_t id = -1;
  std::int64_t generation = 0;
  /// Ids of the parents (-1 when none: initial population; equal ids: mutation only or elite copy).
  std::int64_t parent_a = -1;
  std::int64_t parent_b = -1;
  /// Normalized coordinates in [0, 1], one per gene (see SearchSpace).
  Eigen::VectorXd x;
  /// Mutation step size per gene in normalized units (self-adapted by the GA).
  Eigen::VectorXd step_size;

  // Archive-generic, so this header needs no Boost: the MPI runtime's message_serialization.hpp
  // says how an Eigen vector is archived.
  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive & id & generation & parent_a & parent_b & x & step_size;
  }
};

}  // namespace metaevo
