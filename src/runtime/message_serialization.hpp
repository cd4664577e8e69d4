#pragma once
// Boost.Serialization of what the MPI runtime sends: Eigen vectors, strings and std::vectors inside
// EvaluationRequest / EvaluationResult (checkpoints are HDF5 datasets, not archives). Private to the
// runtime so that no public header needs Boost: the public structs' serialize members are
// archive-generic and find these overloads when a Boost archive instantiates them.
#include <Eigen/Core>
#include <boost/serialization/array_wrapper.hpp>
#include <boost/serialization/split_free.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstddef>

namespace boost::serialization {

template <class Archive>
void save(Archive& archive, const Eigen::VectorXd& vector, unsigned /*version*/) {
  const Eigen::Index size = vector.size();
  archive << size;
  archive << boost::serialization::make_array(vector.data(), static_cast<std::size_t>(size));
}

template <class Archive>
void load(Archive& archive, Eigen::VectorXd& vector, unsigned /*version*/) {
  Eigen::Index size = 0;
  archive >> size;
  vector.resize(size);
  archive >> boost::serialization::make_array(vector.data(), static_cast<std::size_t>(size));
}

template <class Archive>
void serialize(Archive& archive, Eigen::VectorXd& vector, unsigned version) {
  split_free(archive, vector, version);
}

}  // namespace boost::serialization
