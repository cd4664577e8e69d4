// The fuzz targets' entry functions (fuzz_entries.hpp): compiled into each fuzz target (clang,
// libFuzzer) and into the ordinary test binary, which replays tests/fuzz/regressions/ through them.
#include "fuzz_entries.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/rules/exported_rule.hpp"
#include "metaevo/store/run_store.hpp"
#include "metaevo/tasks/dataset.hpp"
#include "tasks/command_task_detail.hpp"

namespace metaevo::fuzz {

namespace {

namespace fs = std::filesystem;

/// A private directory for the files an input is written to, removed at exit.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    path_ = fs::temp_directory_path() / ("metaevo_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(path_);
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  const fs::path& path() const { return path_; }

  /// An empty subdirectory `name` (what an earlier input left there is removed).
  fs::path fresh(const std::string& name) const {
    const fs::path directory = path_ / name;
    std::error_code ignored;
    fs::remove_all(directory, ignored);
    fs::create_directories(directory);
    return directory;
  }

 private:
  fs::path path_;
};

const ScratchDirectory& scratch() {
  static const ScratchDirectory directory;
  return directory;
}

void write_file(const fs::path& path, Bytes bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("fuzz: cannot write " + path.string());
}

std::string_view text_of(Bytes input) { return {reinterpret_cast<const char*>(input.data()), input.size()}; }

/// Reads a run file as inspect/export and resume do.
void read_run(const fs::path& path) {
  try {
    (void)read_run_file(path, true);
  } catch (const Error&) {
  }
  try {
    (void)read_run_file(path, false);
  } catch (const Error&) {
  }
  try {
    ResumedRun resumed = RunStore::resume(path);
    (void)resumed.store.completed_generations();
  } catch (const Error&) {
  }
}

// ---- run_file_structure: a valid run with one structural change ------------------------------

/// The fuzzer's bytes as a stream of choices; zeros once they run out.
class Choices {
 public:
  explicit Choices(Bytes bytes) : bytes_(bytes) {}
  std::uint8_t byte() { return position_ < bytes_.size() ? bytes_[position_++] : 0; }
  std::uint64_t word() {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | byte();
    return value;
  }
  template <typename T, std::size_t N>
  T pick(const std::array<T, N>& values) {
    return values[byte() % N];
  }

 private:
  Bytes bytes_;
  std::size_t position_ = 0;
};

/// An HDF5 identifier closed by its own close function.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

/// What the change applies to: a dataset (attribute empty) or an attribute of an object.
struct Target {
  std::string object;     // path in the file
  std::string attribute;  // empty: the dataset itself
};

herr_t collect_attribute(hid_t /*location*/, const char* name, const H5A_info_t* /*info*/, void* data) {
  auto& names = *static_cast<std::vector<std::string>*>(data);
  names.emplace_back(name);
  return 0;
}

herr_t collect_object(hid_t /*root*/, const char* name, const H5O_info_t* info, void* data) {
  auto& objects = *static_cast<std::vector<std::pair<std::string, H5O_type_t>>*>(data);
  objects.emplace_back(name, info->type);
  return 0;
}

std::vector<Target> targets_of(hid_t file) {
  std::vector<std::pair<std::string, H5O_type_t>> objects;
  H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, collect_object, &objects, H5O_INFO_BASIC);
  std::vector<Target> targets;
  for (const auto& [name, type] : objects) {
    if (type == H5O_TYPE_DATASET) targets.push_back({name, ""});
    std::vector<std::string> attributes;
    H5Aiterate_by_name(file, name.c_str(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_attribute, &attributes,
                       H5P_DEFAULT);
    for (std::string& attribute : attributes) targets.push_back({name, std::move(attribute)});
  }
  return targets;
}

/// METAEVO_FUZZ_SMALL_DIMS=1: no dimension above 2^11, to explore past a known finding about huge
/// sizes (tests/fuzz/regressions/pending.txt) instead of finding it again at once.
bool small_dims_only() {
  static const bool small = [] {
    const char* value = std::getenv("METAEVO_FUZZ_SMALL_DIMS");
    return value != nullptr && std::string_view(value) == "1";
  }();
  return small;
}

/// Dimensions: the old ones, some changed, another rank, or huge.
std::vector<hsize_t> new_dims(Choices& choices, const std::vector<hsize_t>& old) {
  std::vector<hsize_t> dims = old;
  const std::uint8_t rank_choice = choices.byte() % 4;
  if (rank_choice == 1) dims.resize(std::min<std::size_t>(3, dims.size() + 1), 1);
  if (rank_choice == 2 && !dims.empty()) dims.pop_back();
  for (hsize_t& dim : dims) {
    const std::uint8_t how = choices.byte() % 8;
    if (how == 1) dim = 0;
    if (how == 2) dim += 1;
    if (how == 3 && dim > 0) dim -= 1;
    if (how == 4) dim = choices.byte() % 8;
    if (how == 5) dim = hsize_t{1} << (choices.byte() % (small_dims_only() ? 12 : 40));
  }
  return dims;
}

double number_from(Choices& choices) {
  static constexpr std::array<double, 12> table{0.0,
                                                1.0,
                                                -1.0,
                                                2.0,
                                                0.5,
                                                1e308,
                                                -1e308,
                                                std::numeric_limits<double>::quiet_NaN(),
                                                std::numeric_limits<double>::infinity(),
                                                9.3e18,
                                                -9.3e18,
                                                1e9};
  const std::uint8_t how = choices.byte();
  if (how < 128) return table[how % table.size()];
  if (how < 192) return static_cast<double>(static_cast<std::int8_t>(choices.byte()));
  std::uint64_t bits = choices.word();
  double value = 0.0;
  static_assert(sizeof value == sizeof bits);
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

std::int64_t integer_from(Choices& choices) {
  static constexpr std::array<std::int64_t, 10> table{0,
                                                      1,
                                                      -1,
                                                      2,
                                                      3,
                                                      1000000000,
                                                      std::numeric_limits<std::int64_t>::max(),
                                                      std::numeric_limits<std::int64_t>::min(),
                                                      1 << 20,
                                                      255};
  const std::uint8_t how = choices.byte();
  if (how < 128) return table[how % table.size()];
  if (how < 192) return static_cast<std::int8_t>(choices.byte());
  return static_cast<std::int64_t>(choices.word());
}

std::string string_from(Choices& choices) {
  static const std::array<std::string, 6> table{"", "x", "[run]\ngenerations = 1\n", "ga", "0", "metaevo-run"};
  const std::uint8_t how = choices.byte();
  if (how < 128) return table[how % table.size()];
  std::string text(choices.byte() % 32, ' ');
  for (char& c : text) c = static_cast<char>(choices.byte());
  return text;
}

/// The type a rewritten object gets (a copy the caller closes): its own, or another class.
hid_t new_type(Choices& choices, hid_t old_type) {
  switch (choices.byte() % 6) {
    case 1:
      return H5Tcopy(H5T_NATIVE_DOUBLE);
    case 2:
      return H5Tcopy(H5T_NATIVE_INT64);
    case 3:
      return H5Tcopy(H5T_NATIVE_UINT8);
    case 4: {
      const hid_t string_type = H5Tcopy(H5T_C_S1);
      H5Tset_size(string_type, H5T_VARIABLE);
      return string_type;
    }
    default:
      return H5Tcopy(old_type);
  }
}

/// Element values for `count` elements of `type`, written through HDF5's conversions. False when
/// the type is neither a number nor a string (left as HDF5's fill value).
template <typename Write>
bool write_values(Choices& choices, hid_t type, hsize_t count, Write write) {
  const H5T_class_t type_class = H5Tget_class(type);
  if (type_class == H5T_FLOAT) {
    std::vector<double> values(count);
    for (double& value : values) value = number_from(choices);
    return write(H5T_NATIVE_DOUBLE, values.data()) >= 0;
  }
  if (type_class == H5T_INTEGER) {
    std::vector<std::int64_t> values(count);
    for (std::int64_t& value : values) value = integer_from(choices);
    return write(H5T_NATIVE_INT64, values.data()) >= 0;
  }
  if (type_class == H5T_STRING) {
    std::vector<std::string> strings(count);
    for (std::string& text : strings) text = string_from(choices);
    if (H5Tis_variable_str(type) > 0) {
      std::vector<const char*> pointers(count);
      for (hsize_t i = 0; i < count; ++i) pointers[i] = strings[i].c_str();
      Id memory(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(memory.get(), H5T_VARIABLE);
      return write(memory.get(), pointers.data()) >= 0;
    }
    const std::size_t size = H5Tget_size(type);
    std::vector<char> buffer(count * size, '\0');
    for (hsize_t i = 0; i < count; ++i)
      std::copy_n(strings[i].data(), std::min(size, strings[i].size()), &buffer[i * size]);
    return write(type, buffer.data()) >= 0;
  }
  return false;
}

hsize_t element_count(const std::vector<hsize_t>& dims) {
  hsize_t count = 1;
  for (hsize_t dim : dims) count = dim != 0 && count > (hsize_t{1} << 62) / dim ? hsize_t{1} << 62 : count * dim;
  return count;
}

std::vector<hsize_t> dims_of(hid_t space) {
  const int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

/// Small enough to write values into; larger ones keep HDF5's fill value (never allocated).
constexpr hsize_t max_written_elements = 4096;

void change_dataset(hid_t file, const std::string& name, Choices& choices) {
  const std::uint8_t operation = choices.byte() % 4;
  if (operation == 0) {
    H5Ldelete(file, name.c_str(), H5P_DEFAULT);
    return;
  }
  Id dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) return;
  Id type(H5Dget_type(dataset.get()), H5Tclose);
  Id space(H5Dget_space(dataset.get()), H5Sclose);
  const std::vector<hsize_t> old_dims = dims_of(space.get());
  if (operation == 1) {  // the same shape and type, other values
    const hsize_t count = element_count(old_dims);
    if (count > max_written_elements) return;
    write_values(choices, type.get(), count, [&](hid_t memory, const void* data) {
      return H5Dwrite(dataset.get(), memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    });
    return;
  }
  // Another shape (operation 2) or another shape and type (3): replaced by a new dataset.
  const std::vector<hsize_t> dims = new_dims(choices, old_dims);
  Id new_space(
      dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
      H5Sclose);
  Id copied_type(operation == 3 ? new_type(choices, type.get()) : H5Tcopy(type.get()), H5Tclose);
  H5Ldelete(file, name.c_str(), H5P_DEFAULT);
  Id created(H5Dcreate2(file, name.c_str(), copied_type.get(), new_space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose);
  if (!created.valid()) return;
  const hsize_t count = element_count(dims);
  if (count > max_written_elements) return;
  write_values(choices, copied_type.get(), count, [&](hid_t memory, const void* data) {
    return H5Dwrite(created.get(), memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  });
}

void change_attribute(hid_t file, const Target& target, Choices& choices) {
  const std::uint8_t operation = choices.byte() % 4;
  if (operation == 0) {
    H5Adelete_by_name(file, target.object.c_str(), target.attribute.c_str(), H5P_DEFAULT);
    return;
  }
  Id attribute(H5Aopen_by_name(file, target.object.c_str(), target.attribute.c_str(), H5P_DEFAULT, H5P_DEFAULT),
               H5Aclose);
  if (!attribute.valid()) return;
  Id type(H5Aget_type(attribute.get()), H5Tclose);
  Id space(H5Aget_space(attribute.get()), H5Sclose);
  const std::vector<hsize_t> old_dims = dims_of(space.get());
  if (operation == 1) {
    const hsize_t count = element_count(old_dims);
    if (count > max_written_elements) return;
    write_values(choices, type.get(), count,
                 [&](hid_t memory, const void* data) { return H5Awrite(attribute.get(), memory, data); });
    return;
  }
  std::vector<hsize_t> dims = new_dims(choices, old_dims);
  if (element_count(dims) > max_written_elements) dims.assign(1, 2);  // attributes are stored whole
  Id new_space(
      dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
      H5Sclose);
  Id copied_type(operation == 3 ? new_type(choices, type.get()) : H5Tcopy(type.get()), H5Tclose);
  H5Adelete_by_name(file, target.object.c_str(), target.attribute.c_str(), H5P_DEFAULT);
  Id created(H5Acreate_by_name(file, target.object.c_str(), target.attribute.c_str(), copied_type.get(),
                               new_space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose);
  if (!created.valid()) return;
  write_values(choices, copied_type.get(), element_count(dims),
               [&](hid_t memory, const void* data) { return H5Awrite(created.get(), memory, data); });
}

/// Applies up to three changes to one file of the run.
void change_file(const fs::path& path, Choices& choices) {
  Id file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) return;
  const int changes = 1 + choices.byte() % 3;
  for (int i = 0; i < changes; ++i) {
    const std::vector<Target> targets = targets_of(file.get());
    if (targets.empty()) return;
    const std::size_t index = ((std::size_t{choices.byte()} << 8) | choices.byte()) % targets.size();
    const Target& target = targets[index];
    if (target.attribute.empty()) {
      change_dataset(file.get(), target.object, choices);
    } else {
      change_attribute(file.get(), target, choices);
    }
  }
}

}  // namespace

void config(Bytes input) {
  try {
    (void)parse_config(text_of(input), "fuzz.toml", scratch().path());
  } catch (const Error&) {
  }
}

void exported_rule(Bytes input) {
  ExportedUpdateRule rule;
  try {
    rule = update_rule_from_json(text_of(input));
  } catch (const Error&) {
    return;
  }
  // What was imported exports to a document that imports again (an accepted rule is a valid rule).
  const std::string exported = to_json(rule);
  try {
    (void)update_rule_from_json(exported);
  } catch (const Error& error) {
    throw std::logic_error(std::string("an imported rule's export does not import: ") + error.what() + "\n" + exported);
  }
}

void run_file(Bytes input) {
  const fs::path path = scratch().fresh("run_file") / "run.h5";
  write_file(path, input);
  read_run(path);
}

void run_file_structure(Bytes input, const char* seed_run) {
  if (seed_run == nullptr) throw std::invalid_argument("fuzz: run_file_structure needs a seed run file");
  const fs::path seed(seed_run);
  const fs::path path = scratch().fresh("run_file_structure") / "run.h5";
  fs::copy_file(seed, path);
  const fs::path seed_segments(seed.string() + ".segments");
  std::vector<fs::path> files{path};
  if (fs::is_directory(seed_segments)) {
    const fs::path segments(path.string() + ".segments");
    fs::copy(seed_segments, segments, fs::copy_options::recursive);
    std::vector<fs::path> listed;
    for (const fs::directory_entry& entry : fs::directory_iterator(segments)) listed.push_back(entry.path());
    std::sort(listed.begin(), listed.end());
    files.insert(files.end(), listed.begin(), listed.end());
  }
  Choices choices(input);
  {
    H5E_auto2_t previous_function = nullptr;
    void* previous_data = nullptr;
    H5Eget_auto2(H5E_DEFAULT, &previous_function, &previous_data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    const int files_changed = 1 + choices.byte() % 2;
    for (int i = 0; i < files_changed; ++i) change_file(files[choices.byte() % files.size()], choices);
    H5Eset_auto2(H5E_DEFAULT, previous_function, previous_data);
  }
  read_run(path);
}

void dataset(Bytes input) {
  Choices choices(input);
  const bool csv = (choices.byte() & 1) == 0;
  const std::uint8_t how = choices.byte();
  DatasetReadOptions options;
  options.target = (how & 1) != 0 ? DatasetTarget::regression : DatasetTarget::classification;
  options.label_column = static_cast<int>(how >> 1) % 8 - 1;
  const fs::path path = scratch().fresh("dataset") / (csv ? "data.csv" : "data.h5");
  write_file(path, input.size() > 2 ? input.subspan(2) : Bytes{});
  try {
    (void)read_dataset(path, options);
  } catch (const Error&) {
  }
}

void command_result(Bytes input) {
  try {
    (void)task_detail::command_task_outcome(std::string(text_of(input)));
  } catch (const Error&) {
  }
}

bool run_entry(std::string_view name, Bytes input, const char* seed_run) {
  if (name == "config") {
    config(input);
  } else if (name == "exported_rule") {
    exported_rule(input);
  } else if (name == "run_file") {
    run_file(input);
  } else if (name == "run_file_structure") {
    run_file_structure(input, seed_run);
  } else if (name == "dataset") {
    dataset(input);
  } else if (name == "command_result") {
    command_result(input);
  } else {
    return false;
  }
  return true;
}

}  // namespace metaevo::fuzz
