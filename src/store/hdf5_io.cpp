#include "store/hdf5_io.hpp"

#include <algorithm>
#include <limits>
#include <unistd.h>

#include "metaevo/core/error.hpp"

namespace metaevo::h5io {

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ",";
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

// ---- attributes (writing replaces an existing attribute of the same name) ----

void remove_attribute_if_present(hid_t object, const std::string& name) {
  if (h5::h5a_exists(object, name)) h5::h5a_delete(object, name);
}

void copy_attribute(hid_t source, hid_t destination, const std::string& name) {
  const h5::Attribute from = h5::h5a_open(source, name);
  const h5::Datatype type = h5::h5a_get_type(from.id(), name);
  const h5::Dataspace space = h5::h5a_get_space(from.id(), name);
  if (h5::h5t_get_class(type.id(), name) == H5T_VLEN) throw StorageError("attribute '" + name + "': cannot copy a vlen");
  const auto points = static_cast<std::size_t>(h5::h5s_get_simple_extent_npoints(space.id(), name));
  const bool pointers = h5::h5t_is_variable_str(type.id(), name);
  // The file type as the memory type: the bytes go across unconverted (string pointers for vlen strings).
  std::vector<unsigned char> buffer(points * h5::h5t_get_size(type.id(), name));
  h5::h5a_read(from.id(), type.id(), buffer.data(), name);
  remove_attribute_if_present(destination, name);
  const h5::Attribute to = h5::h5a_create2(destination, name, type.id(), space.id());
  h5::h5a_write(to.id(), type.id(), buffer.data(), name);
  if (pointers) h5::h5d_vlen_reclaim(type.id(), space.id(), buffer.data(), name);
}

void write_scalar_attribute(hid_t object, const std::string& name, hid_t file_type, hid_t memory_type,
                            const void* value) {
  if (h5::h5a_exists(object, name)) {
    // Rewrite in place when the stored type has the same class (write_best runs every generation).
    const h5::Attribute existing = h5::h5a_open(object, name);
    const h5::Datatype existing_type = h5::h5a_get_type(existing.id(), name);
    if (h5::h5t_get_class(existing_type.id(), name) == h5::h5t_get_class(file_type, name)) {
      h5::h5a_write(existing.id(), memory_type, value, name);
      return;
    }
  }
  remove_attribute_if_present(object, name);
  const h5::Dataspace scalar = h5::h5s_create(H5S_SCALAR);
  const h5::Attribute attribute = h5::h5a_create2(object, name, file_type, scalar.id());
  h5::h5a_write(attribute.id(), memory_type, value, name);
}

void write_int64_attribute(hid_t object, const std::string& name, std::int64_t value) {
  write_scalar_attribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void write_uint64_attribute(hid_t object, const std::string& name, std::uint64_t value) {
  write_scalar_attribute(object, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

void write_double_attribute(hid_t object, const std::string& name, double value) {
  write_scalar_attribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void write_string_attribute(hid_t object, const std::string& name, const std::string& value) {
  const h5::Datatype string_type = h5::variable_length_string_type();
  const char* pointer = value.c_str();
  write_scalar_attribute(object, name, string_type.id(), string_type.id(), &pointer);
}

void write_string_array_attribute(hid_t object, const std::string& name, const std::vector<std::string>& values) {
  remove_attribute_if_present(object, name);
  const h5::Datatype string_type = h5::variable_length_string_type();
  const h5::Dataspace space = h5::h5s_create_simple({values.size()});
  const h5::Attribute attribute = h5::h5a_create2(object, name, string_type.id(), space.id());
  std::vector<const char*> pointers;
  for (const std::string& value : values) pointers.push_back(value.c_str());
  if (!pointers.empty()) h5::h5a_write(attribute.id(), string_type.id(), pointers.data(), name);
}

namespace {

/// The attribute, opened after checking it holds one value: H5Aread writes every element of it into
/// a buffer sized for one.
h5::Attribute open_scalar_attribute(hid_t object, const std::string& name) {
  h5::Attribute attribute = h5::h5a_open(object, name);
  const h5::Dataspace space = h5::h5a_get_space(attribute.id(), name);
  const hssize_t points = h5::h5s_get_simple_extent_npoints(space.id(), name);
  if (points != 1) {
    throw StorageError("attribute '" + name + "' holds " + std::to_string(points) + " values, expected one");
  }
  return attribute;
}

}  // namespace

std::int64_t read_int64_attribute(hid_t object, const std::string& name) {
  const h5::Attribute attribute = open_scalar_attribute(object, name);
  const h5::Datatype type = h5::h5a_get_type(attribute.id(), name);
  if (h5::h5t_get_class(type.id(), name) != H5T_INTEGER) {
    throw StorageError("attribute '" + name + "' is not an integer");
  }
  std::int64_t value = 0;
  h5::h5a_read(attribute.id(), H5T_NATIVE_INT64, &value, name);
  return value;
}

std::uint64_t read_uint64_attribute(hid_t object, const std::string& name) {
  const h5::Attribute attribute = open_scalar_attribute(object, name);
  std::uint64_t value = 0;
  h5::h5a_read(attribute.id(), H5T_NATIVE_UINT64, &value, name);
  return value;
}

double read_double_attribute(hid_t object, const std::string& name) {
  const h5::Attribute attribute = open_scalar_attribute(object, name);
  double value = 0.0;
  h5::h5a_read(attribute.id(), H5T_NATIVE_DOUBLE, &value, name);
  return value;
}

/// Reads a scalar string attribute stored as a variable- or a fixed-length string.
std::string read_string_attribute(hid_t object, const std::string& name) {
  const h5::Attribute attribute = open_scalar_attribute(object, name);
  const h5::Datatype file_type = h5::h5a_get_type(attribute.id(), name);
  if (h5::h5t_get_class(file_type.id(), name) != H5T_STRING) {
    throw StorageError("attribute '" + name + "' is not a string");
  }
  if (h5::h5t_is_variable_str(file_type.id(), name)) {
    const h5::Datatype memory_type = h5::variable_length_string_type();
    const h5::Dataspace space = h5::h5a_get_space(attribute.id(), name);
    char* pointer = nullptr;
    h5::h5a_read(attribute.id(), memory_type.id(), &pointer, name);
    std::string value = pointer != nullptr ? pointer : "";
    h5::h5d_vlen_reclaim(memory_type.id(), space.id(), &pointer, name);
    return value;
  }
  const std::size_t size = h5::h5t_get_size(file_type.id(), name);
  std::string buffer(size, '\0');
  h5::h5a_read(attribute.id(), file_type.id(), buffer.data(), name);
  return buffer.substr(0, buffer.find('\0'));
}

// ---- fixed-size 1-D datasets ----

void write_double_vector_dataset(hid_t location, const std::string& name, const std::vector<double>& values) {
  const h5::Dataspace space = h5::h5s_create_simple({values.size()});
  const h5::Dataset dataset = h5::h5d_create2(location, name, H5T_IEEE_F64LE, space.id());
  if (!values.empty()) h5::h5d_write(dataset.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, values.data(), name);
}

void write_int64_vector_dataset(hid_t location, const std::string& name, const std::vector<std::int64_t>& values) {
  const h5::Dataspace space = h5::h5s_create_simple({values.size()});
  const h5::Dataset dataset = h5::h5d_create2(location, name, H5T_STD_I64LE, space.id());
  if (!values.empty()) h5::h5d_write(dataset.id(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, values.data(), name);
}

void write_string_vector_dataset(hid_t location, const std::string& name, const std::vector<std::string>& values) {
  const h5::Datatype string_type = h5::variable_length_string_type();
  const h5::Dataspace space = h5::h5s_create_simple({values.size()});
  const h5::Dataset dataset = h5::h5d_create2(location, name, string_type.id(), space.id());
  std::vector<const char*> pointers;
  for (const std::string& value : values) pointers.push_back(value.c_str());
  if (!pointers.empty()) h5::h5d_write(dataset.id(), string_type.id(), H5S_ALL, H5S_ALL, pointers.data(), name);
}

/// Reads a 1-D dataset of variable- or fixed-length strings.
std::vector<std::string> read_string_vector_dataset(hid_t location, const std::string& name) {
  const h5::Dataset dataset = h5::h5d_open2(location, name);
  const h5::Dataspace space = h5::h5d_get_space(dataset.id(), name);
  const std::vector<hsize_t> dims = h5::h5s_get_simple_extent_dims(space.id(), name);
  if (dims.size() != 1) {
    throw StorageError("dataset '" + name + "' has shape " + shape_text(dims) + ", expected one dimension");
  }
  const auto count = static_cast<std::size_t>(dims[0]);
  std::vector<std::string> values;
  if (count == 0) return values;
  const h5::Datatype file_type = h5::h5d_get_type(dataset.id(), name);
  if (h5::h5t_get_class(file_type.id(), name) != H5T_STRING) {
    throw StorageError("dataset '" + name + "' does not hold strings");
  }
  if (h5::h5t_is_variable_str(file_type.id(), name)) {
    const h5::Datatype memory_type = h5::variable_length_string_type();
    std::vector<char*> pointers(count, nullptr);
    h5::h5d_read(dataset.id(), memory_type.id(), H5S_ALL, H5S_ALL, pointers.data(), name);
    for (const char* pointer : pointers) values.emplace_back(pointer != nullptr ? pointer : "");
    h5::h5d_vlen_reclaim(memory_type.id(), space.id(), pointers.data(), name);
    return values;
  }
  const std::size_t size = h5::h5t_get_size(file_type.id(), name);
  std::string buffer(size * count, '\0');
  h5::h5d_read(dataset.id(), file_type.id(), H5S_ALL, H5S_ALL, buffer.data(), name);
  for (std::size_t i = 0; i < count; ++i) {
    const std::string element = buffer.substr(i * size, size);
    values.push_back(element.substr(0, element.find('\0')));
  }
  return values;
}

// ---- fixed-size datasets of any rank ----

void write_array_dataset(hid_t location, const std::string& name, const std::vector<hsize_t>& dims, hid_t file_type,
                         hid_t memory_type, const void* values) {
  const h5::Dataspace space = h5::h5s_create_simple(dims);
  const h5::Dataset dataset = h5::h5d_create2(location, name, file_type, space.id());
  hsize_t count = 1;
  for (const hsize_t extent : dims) count *= extent;
  if (count > 0) h5::h5d_write(dataset.id(), memory_type, H5S_ALL, H5S_ALL, values, name);
}

namespace {

template <class Value>
std::vector<Value> read_array_dataset(hid_t location, const std::string& name, std::size_t rank,
                                      std::vector<hsize_t>& dims, hid_t memory_type) {
  const h5::Dataset dataset = h5::h5d_open2(location, name);
  const h5::Dataspace space = h5::h5d_get_space(dataset.id(), name);
  dims = h5::h5s_get_simple_extent_dims(space.id(), name);
  if (dims.size() != rank) {
    throw StorageError("dataset '" + name + "' has shape " + shape_text(dims) + ", expected " + std::to_string(rank) +
                       " dimensions");
  }
  const h5::Datatype file_type = h5::h5d_get_type(dataset.id(), name);
  const H5T_class_t type_class = h5::h5t_get_class(file_type.id(), name);
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    throw StorageError("dataset '" + name + "' is not numeric");
  }
  hsize_t count = 1;
  for (const hsize_t extent : dims) {
    // A product that wraps around would make the buffer smaller than what H5Dread writes into it.
    if (extent != 0 && count > std::numeric_limits<hsize_t>::max() / sizeof(Value) / extent) {
      throw StorageError("dataset '" + name + "' has shape " + shape_text(dims) + ": too many elements");
    }
    count *= extent;
  }
  std::vector<Value> values(static_cast<std::size_t>(count));
  if (count > 0) h5::h5d_read(dataset.id(), memory_type, H5S_ALL, H5S_ALL, values.data(), name);
  return values;
}

}  // namespace

std::vector<double> read_double_array_dataset(hid_t location, const std::string& name, std::size_t rank,
                                              std::vector<hsize_t>& dims) {
  return read_array_dataset<double>(location, name, rank, dims, H5T_NATIVE_DOUBLE);
}

std::vector<std::int64_t> read_int64_array_dataset(hid_t location, const std::string& name, std::size_t rank,
                                                   std::vector<hsize_t>& dims) {
  return read_array_dataset<std::int64_t>(location, name, rank, dims, H5T_NATIVE_INT64);
}

std::vector<std::uint64_t> read_uint64_array_dataset(hid_t location, const std::string& name, std::size_t rank,
                                                     std::vector<hsize_t>& dims) {
  return read_array_dataset<std::uint64_t>(location, name, rank, dims, H5T_NATIVE_UINT64);
}

/// Opens a dataset and checks it has `rank` dimensions, the trailing ones equal to `trailing`, and at
/// least `min_rows` rows along axis 0. Returns its dimensions.
void require_memory_for(long double bytes, const std::string& what) {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;  // unknown: let the allocation decide
  const long double memory = static_cast<long double>(pages) * static_cast<long double>(page_size);
  if (bytes <= memory) return;
  const auto text = [](long double value) { return std::to_string(static_cast<unsigned long long>(value)); };
  throw StorageError(what + " needs " + text(bytes) + " bytes in memory, more than this machine's " + text(memory) +
                     " bytes of physical memory");
}

std::vector<hsize_t> checked_dims(hid_t dataset, const std::string& name, const std::vector<hsize_t>& trailing,
                                  hsize_t min_rows) {
  const h5::Dataspace space = h5::h5d_get_space(dataset, name);
  const std::vector<hsize_t> dims = h5::h5s_get_simple_extent_dims(space.id(), name);
  std::vector<hsize_t> expected = {min_rows};
  expected.insert(expected.end(), trailing.begin(), trailing.end());
  const bool ok = dims.size() == expected.size() && dims[0] >= min_rows &&
                  std::equal(trailing.begin(), trailing.end(), dims.begin() + 1);
  if (!ok) {
    throw StorageError("dataset '" + name + "' has shape " + shape_text(dims) + ", expected " +
                       shape_text(expected) + " (at least " + std::to_string(min_rows) + " rows)");
  }
  return dims;
}

}  // namespace metaevo::h5io
