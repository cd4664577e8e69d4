#include "store/strategy_state_io.hpp"

#include <functional>
#include <set>

#include "metaevo/core/error.hpp"
#include "store/hdf5_io.hpp"

namespace metaevo {

namespace {

using namespace h5io;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string::npos ? path.size() : slash;
    parts.push_back(path.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

h5::Group open_or_create(hid_t parent, const std::string& name) {
  return h5::h5l_exists(parent, name) ? h5::h5g_open2(parent, name) : h5::h5g_create2(parent, name);
}

template <class Value>
void write_entry(hid_t root, const std::string& path, const StateArray<Value>& array, hid_t file_type,
                 hid_t memory_type) {
  const std::vector<std::string> parts = split_path(path);
  for (const std::string& part : parts) {
    if (part.empty() || part == ".") throw Error("strategy state entry '" + path + "' is not a storable name");
  }
  std::vector<h5::Group> groups;
  hid_t location = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    groups.push_back(open_or_create(location, parts[i]));
    location = groups.back().id();
  }
  const std::string& leaf = parts.back();
  const std::vector<hsize_t> dims(array.shape.begin(), array.shape.end());
  if (h5::h5l_exists(location, leaf)) {
    const h5::Dataset existing = h5::h5d_open2(location, leaf);
    const h5::Dataspace space = h5::h5d_get_space(existing.id(), path);
    const h5::Datatype type = h5::h5d_get_type(existing.id(), path);
    if (h5::h5s_get_simple_extent_dims(space.id(), path) == dims &&
        h5::h5t_get_class(type.id(), path) == h5::h5t_get_class(file_type, path)) {
      if (!array.values.empty()) h5::h5d_write(existing.id(), memory_type, H5S_ALL, H5S_ALL, array.values.data(), path);
      return;
    }
  }
  if (h5::h5l_exists(location, leaf) && H5Ldelete(location, leaf.c_str(), H5P_DEFAULT) < 0) {
    throw StorageError("cannot replace checkpoint entry '" + path + "': " + h5::error_stack_message());
  }
  const h5::Dataspace space = dims.empty() ? h5::h5s_create(H5S_SCALAR) : h5::h5s_create_simple(dims);
  const h5::Dataset dataset = h5::h5d_create2(location, leaf, file_type, space.id());
  if (!array.values.empty()) h5::h5d_write(dataset.id(), memory_type, H5S_ALL, H5S_ALL, array.values.data(), path);
}

/// The names of the links in `group`, by name.
std::vector<std::string> link_names(hid_t group, const std::string& prefix) {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names) < 0) {
    throw StorageError("cannot list checkpoint group '" + prefix + "': " + h5::error_stack_message());
  }
  return names;
}

/// Every dataset under `group` as (path relative to the root, open dataset), depth first by name.
void visit_datasets(hid_t group, const std::string& prefix,
                    const std::function<void(const std::string&, hid_t)>& visit) {
  for (const std::string& name : link_names(group, prefix)) {
    const std::string path = prefix.empty() ? name : prefix + "/" + name;
    const hid_t object = H5Oopen(group, name.c_str(), H5P_DEFAULT);
    if (object < 0) throw StorageError("cannot open checkpoint entry '" + path + "': " + h5::error_stack_message());
    const H5I_type_t type = H5Iget_type(object);
    if (type == H5I_GROUP) {
      const h5::Group child(object);
      visit_datasets(child.id(), path, visit);
    } else if (type == H5I_DATASET) {
      const h5::Dataset child(object);
      visit(path, child.id());
    } else {
      H5Oclose(object);
      throw StorageError("checkpoint entry '" + path + "' is neither a group nor a dataset");
    }
  }
}

/// Removes the datasets (and then empty groups) under `group` that `keep` does not list.
void remove_stale(hid_t group, const std::string& prefix, const std::set<std::string>& keep) {
  for (const std::string& name : link_names(group, prefix)) {
    const std::string path = prefix.empty() ? name : prefix + "/" + name;
    const hid_t object = H5Oopen(group, name.c_str(), H5P_DEFAULT);
    if (object < 0) throw StorageError("cannot open checkpoint entry '" + path + "': " + h5::error_stack_message());
    const bool is_group = H5Iget_type(object) == H5I_GROUP;
    bool keep_it = keep.count(path) > 0;
    if (is_group) {
      const h5::Group child(object);
      remove_stale(child.id(), path, keep);
      keep_it = keep.lower_bound(path + "/") != keep.end() && keep.lower_bound(path + "/")->rfind(path + "/", 0) == 0;
    } else {
      H5Oclose(object);
    }
    if (!keep_it && H5Ldelete(group, name.c_str(), H5P_DEFAULT) < 0) {
      throw StorageError("cannot remove checkpoint entry '" + path + "': " + h5::error_stack_message());
    }
  }
}

}  // namespace

void write_strategy_state(hid_t parent, const std::string& name, const StrategyState& state) {
  const h5::Group root = open_or_create(parent, name);
  write_string_attribute(root.id(), "strategy", state.strategy);
  write_int64_attribute(root.id(), "version", state.version);
  std::set<std::string> keep;
  for (const auto& [path, array] : state.reals) {
    write_entry(root.id(), path, array, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
    keep.insert(path);
  }
  for (const auto& [path, array] : state.integers) {
    if (keep.count(path) > 0) throw Error("strategy state entry '" + path + "' is both real and integer");
    write_entry(root.id(), path, array, H5T_STD_I64LE, H5T_NATIVE_INT64);
    keep.insert(path);
  }
  remove_stale(root.id(), "", keep);
}

StrategyState read_strategy_state(hid_t parent, const std::string& name) {
  if (!h5::h5l_exists(parent, name)) throw StorageError("its checkpoint has no '" + name + "' group");
  const h5::Group root = h5::h5g_open2(parent, name);
  StrategyState state;
  long double total_values = 0.0L;  // of every entry so far: all of them are held at once
  state.strategy = read_string_attribute(root.id(), "strategy");
  state.version = read_int64_attribute(root.id(), "version");
  visit_datasets(root.id(), "", [&](const std::string& path, hid_t dataset) {
    const h5::Dataspace space = h5::h5d_get_space(dataset, path);
    const std::vector<hsize_t> dims = h5::h5s_get_simple_extent_dims(space.id(), path);
    std::uint64_t count = 1;
    std::vector<std::int64_t> shape;
    for (hsize_t extent : dims) {
      if (extent > max_state_array_values || count * extent > max_state_array_values) {
        throw StorageError("checkpoint entry '" + path + "' has shape " + shape_text(dims) + ", more than " +
                           std::to_string(max_state_array_values) + " values");
      }
      count *= extent;
      shape.push_back(static_cast<std::int64_t>(extent));
    }
    total_values += static_cast<long double>(count);
    require_memory_for(total_values * 8.0L, "the checkpoint's strategy state (up to entry '" + path + "')");
    const h5::Datatype type = h5::h5d_get_type(dataset, path);
    const H5T_class_t type_class = h5::h5t_get_class(type.id(), path);
    if (type_class == H5T_FLOAT) {
      StateArray<double>& array = state.reals[path];
      array.shape = shape;
      array.values.resize(count);
      if (count > 0) h5::h5d_read(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, array.values.data(), path);
    } else if (type_class == H5T_INTEGER) {
      StateArray<std::int64_t>& array = state.integers[path];
      array.shape = shape;
      array.values.resize(count);
      if (count > 0) h5::h5d_read(dataset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, array.values.data(), path);
    } else {
      throw StorageError("checkpoint entry '" + path + "' is neither float64 nor int64");
    }
  });
  return state;
}

}  // namespace metaevo
