#pragma once
// Boost.Serialization of what the MPI runtime sends: Eigen vectors, strings and std::vectors inside
// EvaluationRequest / EvaluationResult (checkpoints are HDF5 datasets, not archives). Private to the
// runtime so that no public header needs Boost: the public structs' serialize members are
// archive-generic and find these overloads when a Boost archive instantiates them.
#include <Eigen/Core>
#include <boost/serialization/array_wrapper.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/split_free.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <cstddef>
#include <optional>

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

// std::optional (Boost 1.74 knows only boost::optional): a flag, then the value when present.
template <class Archive, class Value>
void save(Archive& archive, const std::optional<Value>& value, unsigned /*version*/) {
  const bool present = value.has_value();
  archive << present;
  if (present) archive << *value;
}

template <class Archive, class Value>
void load(Archive& archive, std::optional<Value>& value, unsigned /*version*/) {
  bool present = false;
  archive >> present;
  if (!present) {
    value.reset();
    return;
  }
  Value loaded;
  archive >> loaded;
  value = std::move(loaded);
}

template <class Archive, class Value>
void serialize(Archive& archive, std::optional<Value>& value, unsigned version) {
  split_free(archive, value, version);
}

}  // namespace boost::serialization
