#pragma once
// A data set read from a file for the `dataset` task family: features X (rows x features) and one
// target per row, from an HDF5 file or a CSV (layout in docs/datasets.md). Read and checked once,
// before any work starts; every problem is a ConfigError naming the file.
#include <Eigen/Core>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "metaevo/core/enum_names.hpp"

namespace metaevo {

/// What y holds: integer class labels 0..C-1 (softmax cross-entropy) or real targets (squared error).
enum class DatasetTarget { classification, regression };
template <>
struct EnumNames<DatasetTarget> {
  static constexpr std::array<EnumName<DatasetTarget>, 2> table{{
      {DatasetTarget::classification, "classification"},
      {DatasetTarget::regression, "regression"},
  }};
};

/// How the file is read: by its extension (.csv = CSV, anything else HDF5), or as named.
enum class DatasetFormat { automatic, hdf5, csv };
template <>
struct EnumNames<DatasetFormat> {
  static constexpr std::array<EnumName<DatasetFormat>, 3> table{{
      {DatasetFormat::automatic, "auto"},
      {DatasetFormat::hdf5, "hdf5"},
      {DatasetFormat::csv, "csv"},
  }};
};

struct DatasetReadOptions {
  DatasetFormat format = DatasetFormat::automatic;
  DatasetTarget target = DatasetTarget::classification;
  std::string features_name = "X";  // HDF5: the dataset of features, rows x features
  std::string targets_name = "y";   // HDF5: the dataset of targets, rows (or rows x 1)
  int label_column = -1;            // CSV: the target's column, 0-based; -1 = the last one
};

/// A checked data set: every value finite, at least one row and one feature; classification labels
/// are integers in [0, classes) and every class has a row.
struct Dataset {
  std::filesystem::path path;
  std::string sha256;                 // of the file's bytes (64 hex digits)
  DatasetTarget target = DatasetTarget::classification;
  Eigen::MatrixXd features;           // rows x features
  Eigen::VectorXd targets;            // rows: labels as exact integers, or real targets
  int classes = 0;                    // classification: C = /y@classes (HDF5) if given, else max label + 1
  std::vector<Eigen::Index> class_counts;  // classification: rows per class

  Eigen::Index rows() const { return features.rows(); }
  Eigen::Index feature_count() const { return features.cols(); }
};

/// Reads and checks a data file. ConfigError "data file PATH: ..." for a missing or unreadable
/// file, a missing dataset, a shape mismatch, an empty data set, a NaN or infinite value, a label
/// that is not an integer in [0, classes), or a class without rows.
Dataset read_dataset(const std::filesystem::path& path, const DatasetReadOptions& options);

/// read_dataset, shared: a process reads each file once (keyed by its absolute path, size,
/// modification time and the read options) and every family built on it shares the result. A
/// file that fails to read is not remembered.
std::shared_ptr<const Dataset> shared_dataset(const std::filesystem::path& path, const DatasetReadOptions& options);

}  // namespace metaevo
