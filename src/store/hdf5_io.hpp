#pragma once
// Small typed reads and writes over the HDF5 wrapper (store/hdf5_handle.hpp): scalar and string
// attributes (writing replaces an attribute of the same name), 1-D datasets, shape checks. Internal.
#include <cstdint>
#include <string>
#include <vector>

#include "store/hdf5_handle.hpp"

namespace metaevo::h5io {

std::string shape_text(const std::vector<hsize_t>& dims);
void write_scalar_attribute(hid_t object, const std::string& name, hid_t file_type, hid_t memory_type,
                            const void* value);
/// Opens a dataset and checks it has `rank` dimensions, the trailing ones equal to `trailing`, and at
/// least `min_rows` rows along axis 0. Returns its dimensions.
std::vector<hsize_t> checked_dims(hid_t dataset, const std::string& name, const std::vector<hsize_t>& trailing,
                                  hsize_t min_rows);
/// Throws StorageError "WHAT needs N bytes in memory, more than this machine's M of physical
/// memory" when reading `bytes` cannot work here: a damaged file's sizes are refused before any
/// allocation instead of ending in std::bad_alloc.
void require_memory_for(long double bytes, const std::string& what);
void remove_attribute_if_present(hid_t object, const std::string& name);
/// Copies attribute `name` of `source` to `destination` (any rank; numbers, fixed- or
/// variable-length strings), replacing one of the same name.
void copy_attribute(hid_t source, hid_t destination, const std::string& name);
void write_int64_attribute(hid_t object, const std::string& name, std::int64_t value);
void write_uint64_attribute(hid_t object, const std::string& name, std::uint64_t value);
void write_double_attribute(hid_t object, const std::string& name, double value);
void write_string_attribute(hid_t object, const std::string& name, const std::string& value);
void write_string_array_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values);
std::int64_t read_int64_attribute(hid_t object, const std::string& name);
std::uint64_t read_uint64_attribute(hid_t object, const std::string& name);
double read_double_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name);
void write_double_vector_dataset(hid_t location, const std::string& name, const std::vector<double>& values);
void write_int64_vector_dataset(hid_t location, const std::string& name, const std::vector<std::int64_t>& values);
void write_string_vector_dataset(hid_t location, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> read_string_vector_dataset(hid_t location, const std::string& name);
/// A fixed-size dataset of any rank (row-major `values`, as many as the dims' product) in `file_type`.
void write_array_dataset(hid_t location, const std::string& name, const std::vector<hsize_t>& dims, hid_t file_type,
                         hid_t memory_type, const void* values);
/// Reads a numeric dataset of `rank` dimensions converted to double / int64 / uint64; `dims` receives
/// its shape. StorageError when the rank differs.
std::vector<double> read_double_array_dataset(hid_t location, const std::string& name, std::size_t rank,
                                              std::vector<hsize_t>& dims);
std::vector<std::int64_t> read_int64_array_dataset(hid_t location, const std::string& name, std::size_t rank,
                                                   std::vector<hsize_t>& dims);
std::vector<std::uint64_t> read_uint64_array_dataset(hid_t location, const std::string& name, std::size_t rank,
                                                     std::vector<hsize_t>& dims);

}  // namespace metaevo::h5io
