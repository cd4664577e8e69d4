#pragma once
// A StrategyState as an HDF5 group: one dataset per entry (names with '/' become subgroups), the
// strategy's name and layout version as attributes. Readable by h5py and h5dump. Internal.
#include <string>

#include "metaevo/search/strategy_state.hpp"
#include "store/hdf5_handle.hpp"

namespace metaevo {

/// Writes `state` into group `name` under `parent` (created if missing). Datasets whose shape is
/// unchanged are rewritten in place, so a checkpoint of the same layout does not grow the file;
/// entries the state no longer has are removed.
void write_strategy_state(hid_t parent, const std::string& name, const StrategyState& state);

/// Reads the group back. StorageError with a one-line reason for a missing group or attribute, a
/// dataset that is neither float64 nor int64, or an array of more than max_state_array_values values
/// (checked before allocating).
StrategyState read_strategy_state(hid_t parent, const std::string& name);

inline constexpr std::uint64_t max_state_array_values = 1ULL << 30;

}  // namespace metaevo
