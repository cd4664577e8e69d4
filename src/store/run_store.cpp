#include "metaevo/store/run_store.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/durable_file.hpp"
#include "store/file_system_error.hpp"
#include "store/hdf5_handle.hpp"
#include "store/hdf5_io.hpp"
#include "store/strategy_state_io.hpp"
#include "metaevo/config/config.hpp"
#include "metaevo/core/error.hpp"
#include "metaevo/search/genetic_algorithm.hpp"
#include "metaevo/search/search_space.hpp"
#include "metaevo/tasks/float32_kernel.hpp"

namespace metaevo {

namespace {

using namespace h5io;
using durable::directory_of;
using durable::sync_path;

constexpr std::string_view run_file_format = "metaevo-run";
constexpr std::string_view metaevo_version = "0.1.0";
constexpr unsigned deflate_level = 4;
// Step sizes are deflated only when they repeat; on such data level 1 keeps ~0.5% as level 4 keeps
// ~0.15%, at half the time (level 4's lazy matching indexes every byte of the long matches).
constexpr unsigned step_size_deflate_level = 1;

// Group and dataset names of schema version 1 (docs/hdf5-schema.md).
const std::string config_group_name = "config";
const std::string data_files_group_name = "data_files";
const std::string plugins_group_name = "plugins";
const std::string search_space_group_name = "search_space";
const std::string generations_group_name = "generations";
const std::string decoded_group_name = "decoded";
const std::string strategy_statistics_group_name = "strategy";
const std::string validation_fitness_name = "validation_fitness";
const std::string validated_best_group_name = "validated_best";
const std::string best_group_name = "best";
const std::string holdout_group_name = "holdout";
const std::string completed_generations_attribute = "completed_generations";
const std::string evaluations_group_name = "evaluations";
const std::string checkpoint_group_name = "checkpoint";
const std::string strategy_state_group_name = "strategy";
const std::string island_states_group_name = "islands";  // island_<i>: island i's strategy state

std::string island_state_name(std::size_t island) { return "island_" + std::to_string(island); }
const std::string segments_group_name = "segments";
constexpr std::string_view working_copy_suffix = ".partial";
constexpr std::string_view lock_file_suffix = ".lock";
constexpr std::string_view staging_copy_suffix = ".commit";
constexpr std::string_view segments_directory_suffix = ".segments";
constexpr std::string_view segment_format = "metaevo-run-segment";
constexpr hsize_t evaluation_log_chunk_rows = 1024;

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// ---- datasets extendible along the generation axis ----

/// One dataset of /generations: shape [G, row_dims...], one generation per chunk.
struct GenerationDataset {
  std::string name;  // path inside the file, for messages
  h5::Dataset dataset;
  hid_t memory_type = H5I_INVALID_HID;  // a predefined native type or the store's string type
  std::vector<hsize_t> row_dims;        // shape of one generation: [P] or [P, n]
};

/// How the rows of a /generations dataset are kept, beyond the chunking.
struct RowStorage {
  unsigned deflate = deflate_level;  // when compressed
  // A float64 value that rows equal to it everywhere are not written with: HDF5 reads a chunk never
  // written as the dataset's fill value.
  std::optional<double> fill_value;
  // Every row is written whole, so no fill value is needed; then HDF5 writes a chunk larger than its
  // chunk cache (1 MB) straight from the caller's buffer instead of copying it into a temporary.
  bool rows_written_whole = false;
};

GenerationDataset create_generation_dataset(hid_t group, const std::string& group_path, const std::string& name,
                                            hid_t file_type, hid_t memory_type, std::vector<hsize_t> row_dims,
                                            bool compress, const RowStorage& storage = {}) {
  std::vector<hsize_t> dims = {0};
  std::vector<hsize_t> max_dims = {H5S_UNLIMITED};
  std::vector<hsize_t> chunk = {1};
  for (const hsize_t extent : row_dims) {
    dims.push_back(extent);
    // A chunk cannot have a zero extent: an empty axis (no genes) is declared unlimited, chunk 1.
    max_dims.push_back(extent == 0 ? H5S_UNLIMITED : extent);
    chunk.push_back(std::max<hsize_t>(extent, 1));
  }
  const std::string path = group_path + "/" + name;
  const h5::Dataspace space = h5::h5s_create_simple(dims, max_dims);
  const h5::PropertyList create_plist = h5::h5p_create(H5P_DATASET_CREATE);
  h5::h5p_set_chunk(create_plist.id(), chunk, path);
  if (compress && h5::h5z_filter_avail(H5Z_FILTER_DEFLATE)) {
    h5::h5p_set_deflate(create_plist.id(), storage.deflate, path);
  }
  if (storage.fill_value) {
    h5::h5p_set_fill_value(create_plist.id(), H5T_NATIVE_DOUBLE, &*storage.fill_value, path);
  } else if (storage.rows_written_whole) {
    h5::h5p_set_fill_time(create_plist.id(), H5D_FILL_TIME_NEVER, path);
  }
  GenerationDataset result;
  result.name = path;
  result.dataset = h5::h5d_create2(group, name, file_type, space.id(), create_plist.id());
  result.memory_type = memory_type;
  result.row_dims = std::move(row_dims);
  return result;
}

/// Grows the dataset to generation + 1 rows; the new row reads as the fill value until written.
std::vector<hsize_t> add_generation_row(const GenerationDataset& target, hsize_t generation) {
  std::vector<hsize_t> dims = {generation + 1};
  dims.insert(dims.end(), target.row_dims.begin(), target.row_dims.end());
  h5::h5d_set_extent(target.dataset.id(), dims, target.name);
  return dims;
}

/// Grows the dataset to generation + 1 rows and writes row `generation` from `data` (row-major).
void write_generation_row(const GenerationDataset& target, hsize_t generation, const void* data) {
  const std::vector<hsize_t> dims = add_generation_row(target, generation);
  hsize_t element_count = 1;
  for (const hsize_t extent : target.row_dims) element_count *= extent;
  if (element_count == 0) return;
  const h5::Dataspace file_space = h5::h5d_get_space(target.dataset.id(), target.name);
  std::vector<hsize_t> start(dims.size(), 0);
  start[0] = generation;
  std::vector<hsize_t> count = dims;
  count[0] = 1;
  h5::h5s_select_hyperslab(file_space.id(), start, count, target.name);
  const h5::Dataspace memory_space = h5::h5s_create_simple(target.row_dims);
  h5::h5d_write(target.dataset.id(), target.memory_type, memory_space.id(), file_space.id(), data, target.name);
}

GenerationDataset open_generation_dataset(hid_t group, const std::string& group_path, const std::string& name,
                                          hid_t memory_type, std::vector<hsize_t> row_dims) {
  GenerationDataset result;
  result.name = group_path + "/" + name;
  result.dataset = h5::h5d_open2(group, name);
  result.memory_type = memory_type;
  result.row_dims = std::move(row_dims);
  return result;
}

/// One column of /evaluations: [rows] (width 0) or [rows, width] (per-task values), unlimited along
/// rows, chunked by evaluation_log_chunk_rows.
struct LogColumn {
  std::string name;
  h5::Dataset dataset;
  hid_t memory_type = H5I_INVALID_HID;
  hsize_t width = 0;
};

/// The shape of `rows` rows of a column of this width.
std::vector<hsize_t> log_dims(hsize_t rows, hsize_t width) {
  return width == 0 ? std::vector<hsize_t>{rows} : std::vector<hsize_t>{rows, width};
}

LogColumn create_log_column(hid_t group, const std::string& group_path, const std::string& name, hid_t file_type,
                            hid_t memory_type, bool compress, hsize_t width) {
  const std::string path = group_path + "/" + name;
  const h5::Dataspace space = h5::h5s_create_simple(log_dims(0, width), width == 0
                                                                           ? std::vector<hsize_t>{H5S_UNLIMITED}
                                                                           : std::vector<hsize_t>{H5S_UNLIMITED, width});
  const h5::PropertyList create_plist = h5::h5p_create(H5P_DATASET_CREATE);
  h5::h5p_set_chunk(create_plist.id(), width == 0 ? std::vector<hsize_t>{evaluation_log_chunk_rows}
                                                  : std::vector<hsize_t>{std::max<hsize_t>(evaluation_log_chunk_rows / width, 16), width},
                    path);
  if (compress && h5::h5z_filter_avail(H5Z_FILTER_DEFLATE)) h5::h5p_set_deflate(create_plist.id(), deflate_level, path);
  return {path, h5::h5d_create2(group, name, file_type, space.id(), create_plist.id()), memory_type, width};
}

/// Appends `count` rows after the current end.
void append_log_rows(const LogColumn& column, hsize_t count, const void* data) {
  if (count == 0) return;
  const h5::Dataspace old_space = h5::h5d_get_space(column.dataset.id(), column.name);
  const hsize_t rows = h5::h5s_get_simple_extent_dims(old_space.id(), column.name).at(0);
  h5::h5d_set_extent(column.dataset.id(), log_dims(rows + count, column.width), column.name);
  const h5::Dataspace file_space = h5::h5d_get_space(column.dataset.id(), column.name);
  std::vector<hsize_t> start = log_dims(rows, column.width);
  if (column.width > 0) start[1] = 0;
  h5::h5s_select_hyperslab(file_space.id(), start, log_dims(count, column.width), column.name);
  const h5::Dataspace memory_space = h5::h5s_create_simple(log_dims(count, column.width));
  h5::h5d_write(column.dataset.id(), column.memory_type, memory_space.id(), file_space.id(), data, column.name);
}

std::filesystem::path working_copy_of(const std::filesystem::path& path) {
  return std::filesystem::path(path.string() + std::string(working_copy_suffix));
}

std::filesystem::path staging_copy_of(const std::filesystem::path& path) {
  return std::filesystem::path(path.string() + std::string(staging_copy_suffix));
}

/// Segment `index` of the run: RUN.h5.segments/000123.h5.
std::filesystem::path segment_path_of(const std::filesystem::path& path, std::int64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "%06lld.h5", static_cast<long long>(index));
  return std::filesystem::path(path.string() + std::string(segments_directory_suffix)) / name;
}

/// Reads a whole 1-D int64 dataset.
std::vector<std::int64_t> read_int64_vector(hid_t location, const std::string& name, const std::string& path) {
  const h5::Dataset dataset = h5::h5d_open2(location, name);
  const h5::Dataspace space = h5::h5d_get_space(dataset.id(), path);
  const std::vector<hsize_t> dims = h5::h5s_get_simple_extent_dims(space.id(), path);
  if (dims.size() != 1) throw StorageError("dataset '" + path + "' has shape " + shape_text(dims) + ", expected [rows]");
  require_memory_for(static_cast<long double>(dims[0]) * sizeof(std::int64_t), "dataset '" + path + "'");
  std::vector<std::int64_t> values(static_cast<std::size_t>(dims[0]));
  if (!values.empty()) h5::h5d_read(dataset.id(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, values.data(), path);
  return values;
}

/// Reads the block of `count` (rows first, then the whole row shape) at the start of a float64 dataset.
void read_leading_rows(hid_t dataset, const std::string& path, const std::vector<hsize_t>& count, double* into) {
  const h5::Dataspace memory = h5::h5s_create_simple(count);
  const h5::Dataspace file_space = h5::h5d_get_space(dataset, path);
  h5::h5s_select_hyperslab(file_space.id(), std::vector<hsize_t>(count.size(), 0), count, path);
  h5::h5d_read(dataset, H5T_NATIVE_DOUBLE, memory.id(), file_space.id(), into, path);
}

/// The committed segment list of an open root: rows per segment of /generations and /evaluations.
struct SegmentList {
  std::vector<std::int64_t> generations, evaluations;
};

SegmentList read_segment_list(hid_t root) {
  SegmentList list;
  if (!h5::h5l_exists(root, segments_group_name)) return list;
  const h5::Group group = h5::h5g_open2(root, segments_group_name);
  const std::string base = "/" + segments_group_name + "/";
  list.generations = read_int64_vector(group.id(), "generations", base + "generations");
  list.evaluations = read_int64_vector(group.id(), "evaluations", base + "evaluations");
  if (list.generations.size() != list.evaluations.size()) {
    throw StorageError(base + "generations and " + base + "evaluations have different lengths");
  }
  return list;
}

/// Removes what a killed session may have left in the segment directory: a torn segment (.partial or
/// .commit) and segments the committed root does not list (renamed just before a kill).
void remove_unlisted_segments(const std::filesystem::path& path, std::int64_t listed) {
  const std::filesystem::path directory(path.string() + std::string(segments_directory_suffix));
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) return;
  std::vector<std::filesystem::path> doomed;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    bool keep = false;
    // Six digits or more (segment_path_of), then ".h5".
    const std::size_t digits = name.size() >= 3 ? name.size() - 3 : 0;
    if (digits >= 6 && digits <= 18 && name.compare(digits, 3, ".h5") == 0 &&
        std::all_of(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(digits),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      const std::int64_t index = std::stoll(name.substr(0, digits));
      keep = index < listed && name == segment_path_of(path, index).filename().string();
    }
    if (!keep) doomed.push_back(entry.path());
  }
  for (const auto& leftover : doomed) std::filesystem::remove(leftover, error);
}

std::string join_choices(const std::vector<std::string>& choices) {
  std::string joined;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) joined += "|";
    joined += choices[i];
  }
  return joined;
}

std::int64_t choice_index(const GeneSpec& gene, const std::string& choice) {
  const auto found = std::find(gene.choices.begin(), gene.choices.end(), choice);
  if (found == gene.choices.end()) {
    throw StorageError("gene '" + gene.name + "' decoded to '" + choice + "', which is not one of its choices");
  }
  return static_cast<std::int64_t>(found - gene.choices.begin());
}

double numeric_value(const GeneValue& value) {
  if (const auto* real = std::get_if<double>(&value)) return *real;
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return static_cast<double>(*integer);
  throw StorageError("a numeric gene decoded to the string '" + std::get<std::string>(value) + "'");
}

/// The per-evaluation values of a batch, one vector per EvaluationField, gathered once.
struct EvaluationColumns {
  EvaluationColumns(std::int64_t session_of_batch, std::size_t tasks_per_evaluation)
      : session_number(session_of_batch), task_count(tasks_per_evaluation) {}

  std::int64_t session_number;
  std::size_t task_count;
  // Per task slot, row-major [evaluation][slot]; padded with NaN / -1 where a result has fewer slots.
  std::vector<double> task_score, task_final_loss;
  std::vector<std::int64_t> task_family;
  std::vector<std::int64_t> genome_id, generation, parent_a, parent_b, inner_steps, worker_rank, session;
  std::vector<double> fitness, mean_final_loss, wall_seconds, start_time, end_time;
  std::vector<std::uint8_t> diverged, failed;
  std::vector<const char*> reason;  // point into the results, which must outlive the columns

  void add(const Genome& genome, const EvaluationResult& result) {
    session.push_back(session_number);
    genome_id.push_back(genome.id);
    generation.push_back(genome.generation);
    parent_a.push_back(genome.parent_a);
    parent_b.push_back(genome.parent_b);
    fitness.push_back(result.fitness);
    diverged.push_back(result.diverged ? 1 : 0);
    failed.push_back(result.failed ? 1 : 0);
    reason.push_back(result.reason.c_str());
    mean_final_loss.push_back(result.mean_final_loss);
    inner_steps.push_back(result.inner_steps);
    wall_seconds.push_back(result.wall_seconds);
    worker_rank.push_back(result.worker_rank);
    start_time.push_back(result.start_time);
    end_time.push_back(result.end_time);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t k = 0; k < task_count; ++k) {
      task_score.push_back(k < result.task_scores.size() ? result.task_scores[k] : nan);
      task_final_loss.push_back(k < result.task_final_losses.size() ? result.task_final_losses[k] : nan);
      task_family.push_back(k < result.task_families.size() ? result.task_families[k] : -1);
    }
  }
};

/// A per-evaluation field: a column of /evaluations and, unless `log_only`, a dataset of /generations
/// with one row of population_size values per generation. One table for both, so they cannot drift.
struct EvaluationField {
  const char* name;
  hid_t file_type;
  hid_t memory_type;
  bool compress;
  bool log_only;
  const void* (*data)(const EvaluationColumns&);
  bool per_task = false;  // one value per task slot: [P, K] per generation, [rows, K] in the log
};

/// Equal as stored: +0 and -0 differ, a NaN equals itself.
bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

/// The one value every step size of every genome has, if there is one (an evolution strategy's sigma).
std::optional<double> single_step_size(const std::vector<Genome>& population) {
  if (population.empty() || population.front().step_size.size() == 0) return std::nullopt;
  const double value = population.front().step_size[0];
  for (const Genome& genome : population) {
    const Eigen::VectorXd& steps = genome.step_size;
    if (steps.size() == 0) return std::nullopt;
    for (Eigen::Index j = 0; j < steps.size(); ++j) {
      if (!same_bits(steps[j], value)) return std::nullopt;
    }
  }
  return value;
}

/// Parts of a checkpoint that must hold before anything is resumed from it (the generation counter
/// against the stored generations, and the strategy's own state, are checked next); StorageError
/// naming the part that does not.
void check_checkpoint_parts(const Checkpoint& checkpoint) {
  const std::string at = "its checkpoint (/checkpoint) ";
  if (checkpoint.completed_generations < 0 || checkpoint.submitted_evaluations < 0 || checkpoint.session < 0) {
    throw StorageError(at + "has a negative counter: completed_generations " +
                       std::to_string(checkpoint.completed_generations) + ", submitted_evaluations " +
                       std::to_string(checkpoint.submitted_evaluations) + ", session " + std::to_string(checkpoint.session));
  }
  if (!std::isfinite(checkpoint.elapsed_seconds) || checkpoint.elapsed_seconds < 0.0) {
    throw StorageError(at + "has elapsed_seconds " + std::to_string(checkpoint.elapsed_seconds));
  }
  auto check_not_empty = [&](const StrategyState& state, const std::string& where) {
    if (state.reals.empty() && state.integers.empty()) {
      throw StorageError(at + "has an empty strategy state (" + where + " holds no entry)");
    }
  };
  if (checkpoint.strategy_state) check_not_empty(*checkpoint.strategy_state, "/checkpoint/strategy");
  for (std::size_t island = 0; island < checkpoint.island_states.size(); ++island) {
    check_not_empty(checkpoint.island_states[island], "/checkpoint/islands/" + island_state_name(island));
  }
}

/// The advisory lock of a run file, held while a run or resume writes it: an flock on RUN.h5.lock,
/// which holds the holder's pid. The kernel releases it when the process ends however it ends
/// (kill -9 included), so a stale lock file never blocks a resume. Removed on release.
class RunFileLock {
 public:
  RunFileLock() = default;
  RunFileLock(RunFileLock&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  RunFileLock& operator=(RunFileLock&& other) noexcept {
    if (this != &other) {
      release();
      path_ = std::move(other.path_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  RunFileLock(const RunFileLock&) = delete;
  RunFileLock& operator=(const RunFileLock&) = delete;
  ~RunFileLock() { release(); }
  bool held() const noexcept { return fd_ >= 0; }

  /// Takes the lock of `run_path` or throws StorageError naming the holder's pid; never waits.
  static RunFileLock acquire(const std::filesystem::path& run_path) {
    RunFileLock lock;
    lock.path_ = std::filesystem::path(run_path.string() + std::string(lock_file_suffix));
    const std::string name = lock.path_.string();
    // A holder that releases removes the file: retry when the file locked is no longer the one named.
    for (int attempt = 0; attempt < 100; ++attempt) {
      const int fd = ::open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) {
        throw StorageError("cannot open its lock file '" + name + "': " + file_system::describe_errno(errno, lock.path_));
      }
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        std::string holder;
        char buffer[32] = {};
        const ssize_t read = ::pread(fd, buffer, sizeof buffer - 1, 0);
        for (ssize_t i = 0; i < read && buffer[i] >= '0' && buffer[i] <= '9'; ++i) holder += buffer[i];
        ::close(fd);
        if (error != EWOULDBLOCK) throw StorageError("cannot lock '" + name + "': " + std::strerror(error));
        throw StorageError("it is in use by another run or resume (" +
                           (holder.empty() ? std::string("the process") : "process " + holder) + " holds '" + name +
                           "'); wait for it to end or stop it first");
      }
      struct stat opened {}, named {};
      if (::fstat(fd, &opened) != 0 || ::stat(name.c_str(), &named) != 0 || opened.st_ino != named.st_ino ||
          opened.st_dev != named.st_dev) {
        ::close(fd);
        continue;
      }
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        // The pid is only for the message of a second run: the lock itself holds.
      }
      lock.fd_ = fd;
      return lock;
    }
    throw StorageError("cannot lock '" + name + "': it keeps being replaced");
  }

 private:
  void release() noexcept {
    if (fd_ < 0) return;
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);  // while still held: no one else has it open and locked
    ::close(fd_);
    fd_ = -1;
  }

  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace

struct RunStore::Impl {
  // Declared first so it is released last: the lock of the run file.
  RunFileLock lock;
  std::filesystem::path path;
  SearchSpace space;
  hsize_t population_size = 0;
  hsize_t tasks_per_evaluation = 0;  // K: the width of the per-task fields
  hsize_t completed_generations = 0;
  StepSizeAdaptation step_size_adaptation = StepSizeAdaptation::per_gene;
  // Committed segments (listed in the root) and the segment being written, if any.
  std::int64_t segment_count = 0;
  std::int64_t published_segments = 0;  // segments the run file on disk lists (the last publish's)
  bool opened_segments = false;         // whether this store has opened a segment (it owns those >= published)
  hsize_t segment_first_generation = 0;  // generation of the open segment's row 0
  hsize_t segment_evaluations = 0;       // rows of /evaluations in the open segment
  // Whether the step sizes repeat (the first genome carries one global or one per group, or its per-gene
  // step sizes are all equal, as an evolution strategy's sigma): then deflate shrinks the rows of
  // /generations/step_size cheaply. Decided by the first generation of each segment.
  bool step_sizes_repeat = false;
  // The one value every step size of the segment's first generation has, if any (an evolution
  // strategy's sigma): the fill value of the segment's step_size, and rows equal to it are not written.
  std::optional<double> step_size_fill;
  // Rows of the generation being appended, kept between generations so their pages stay mapped.
  std::vector<double> gene_rows, step_size_rows;

  // Declared first so it is closed last, after every object inside it: the root's working copy.
  h5::File file;
  h5::Datatype string_type;
  h5::Group root_generations_group;  // the root's /generations: completed_generations
  h5::Group segments_group;          // the root's /segments: the committed segment list
  LogColumn segment_generation_counts, segment_evaluation_counts;
  // The open segment (RUN.h5.segments/NNNNNN.h5.partial) and the bulk datasets inside it.
  h5::File segment_file;
  h5::Group generations_group;
  GenerationDataset genes, step_size;
  std::vector<GenerationDataset> evaluation_rows;  // the evaluation_fields() not log_only, in order
  std::vector<GenerationDataset> decoded;          // one per gene, in search-space order
  h5::Group evaluations_group;
  std::vector<LogColumn> log_columns;  // in evaluation_fields() order

  std::filesystem::path working_path() const { return working_copy_of(path); }
  std::filesystem::path staging_path() const { return staging_copy_of(path); }
  std::filesystem::path segments_directory() const {
    return std::filesystem::path(path.string() + std::string(segments_directory_suffix));
  }
  std::filesystem::path segment_path(std::int64_t index) const { return segment_path_of(path, index); }
  std::filesystem::path open_segment_path() const { return working_copy_of(segment_path(segment_count)); }
  bool segment_is_open() const { return segment_file.valid(); }

  std::vector<EvaluationField> evaluation_fields() const {
    using C = EvaluationColumns;
    const hid_t i64 = H5T_STD_I64LE, f64 = H5T_IEEE_F64LE, u8 = H5T_STD_U8LE;
    const hid_t int64 = H5T_NATIVE_INT64, dbl = H5T_NATIVE_DOUBLE, uint8 = H5T_NATIVE_UINT8;
    const hid_t text = string_type.id();
    // Deflate would only compress heap references for variable-length strings: "reason" is not.
    return {{"genome_id", i64, int64, true, false, [](const C& c) -> const void* { return c.genome_id.data(); }},
            {"generation", i64, int64, true, true, [](const C& c) -> const void* { return c.generation.data(); }},
            {"parent_a", i64, int64, true, false, [](const C& c) -> const void* { return c.parent_a.data(); }},
            {"parent_b", i64, int64, true, false, [](const C& c) -> const void* { return c.parent_b.data(); }},
            {"fitness", f64, dbl, true, false, [](const C& c) -> const void* { return c.fitness.data(); }},
            {"diverged", u8, uint8, true, false, [](const C& c) -> const void* { return c.diverged.data(); }},
            {"failed", u8, uint8, true, false, [](const C& c) -> const void* { return c.failed.data(); }},
            {"reason", text, text, false, false, [](const C& c) -> const void* { return c.reason.data(); }},
            {"mean_final_loss", f64, dbl, true, false,
             [](const C& c) -> const void* { return c.mean_final_loss.data(); }},
            {"inner_steps", i64, int64, true, false, [](const C& c) -> const void* { return c.inner_steps.data(); }},
            {"wall_seconds", f64, dbl, true, false, [](const C& c) -> const void* { return c.wall_seconds.data(); }},
            {"worker_rank", i64, int64, true, false, [](const C& c) -> const void* { return c.worker_rank.data(); }},
            {"start_time", f64, dbl, true, false, [](const C& c) -> const void* { return c.start_time.data(); }},
            {"end_time", f64, dbl, true, false, [](const C& c) -> const void* { return c.end_time.data(); }},
            {"session", i64, int64, true, true, [](const C& c) -> const void* { return c.session.data(); }},
            {"task_score", f64, dbl, true, false, [](const C& c) -> const void* { return c.task_score.data(); }, true},
            {"task_final_loss", f64, dbl, true, false,
             [](const C& c) -> const void* { return c.task_final_loss.data(); }, true},
            {"task_family", i64, int64, true, false, [](const C& c) -> const void* { return c.task_family.data(); },
             true}};
  }

  /// Row shape of a per-evaluation field in /generations: [P] or [P, K].
  std::vector<hsize_t> generation_row_dims(const EvaluationField& field) const {
    return field.per_task ? std::vector<hsize_t>{population_size, tasks_per_evaluation}
                          : std::vector<hsize_t>{population_size};
  }

  void create_evaluation_log() {
    const std::string group_path = "/" + evaluations_group_name;
    evaluations_group = h5::h5g_create2(segment_file.id(), evaluations_group_name);
    for (const EvaluationField& field : evaluation_fields()) {
      log_columns.push_back(create_log_column(evaluations_group.id(), group_path, field.name, field.file_type,
                                              field.memory_type, field.compress,
                                              field.per_task ? tasks_per_evaluation : 0));
    }
  }

  /// Makes the run file a copy of the working copy, atomically and durably: flush the open working
  /// copy (after H5Fflush its bytes on disk are a complete HDF5 file), copy them to a staging file,
  /// fsync it, rename it over the run file, fsync the directory. The working copy stays open, with
  /// its metadata cache warm, for the next generation. On failure (a full disk) the staging file and
  /// any segment the run file does not list are removed: the run file and its listed segments, the
  /// last checkpoint, are left as they were.
  void publish() {
    try {
      close_segment();
      h5::h5f_flush(file.id(), working_path().string());
      durable::copy_whole_file(working_path(), staging_path());
      sync_path(staging_path(), false);
      durable::rename_file(staging_path(), path);
      published_segments = segment_count;  // the run file now lists them, whatever follows
      sync_path(directory_of(path), true);
    } catch (const StorageError&) {
      std::error_code ignored;
      std::filesystem::remove(staging_path(), ignored);
      remove_unpublished_segments();
      throw;
    }
  }

  /// Closes the HDF5 objects in reverse order of declaration: each object before the file holding it.
  void close_handles() noexcept {
    close_segment_objects();
    segment_file = h5::File();
    segment_evaluation_counts = LogColumn();
    segment_generation_counts = LogColumn();
    segments_group = h5::Group();
    root_generations_group = h5::Group();
    string_type = h5::Datatype();
    file = h5::File();
  }

  /// Closes the objects inside the open segment (not the segment file itself).
  void close_segment_objects() noexcept {
    log_columns.clear();
    evaluations_group = h5::Group();
    decoded.clear();
    evaluation_rows.clear();
    genes = GenerationDataset();
    step_size = GenerationDataset();
    generations_group = h5::Group();
  }

  /// Closes every handle (what was not published is dropped, exactly as after a crash), removes the
  /// working copy, the staging file and the unpublished segments, then releases the lock. The store
  /// is unusable afterwards. For the destructor and for a create or resume that fails.
  void discard() noexcept {
    close_handles();
    if (!lock.held()) return;  // the files are another writer's (or none were made)
    std::error_code ignored;
    std::filesystem::remove(working_path(), ignored);
    std::filesystem::remove(staging_path(), ignored);
    remove_unpublished_segments();
    lock = RunFileLock();
  }

  /// Removes the segments this store wrote that the run file on disk does not list: the open one
  /// (NNNNNN.h5.partial), or one a failed commit closed or renamed. Never a listed one, nor one of a
  /// run that `run --force` is replacing.
  void remove_unpublished_segments() const {
    if (!opened_segments) return;  // before that, a segment there is the run's (a resume) or a replaced run's
    std::error_code ignored;
    for (std::int64_t index = published_segments; index <= segment_count; ++index) {
      std::filesystem::remove(segment_path(index), ignored);
      std::filesystem::remove(working_copy_of(segment_path(index)), ignored);
    }
  }

  /// Opens a new segment for the bulk (/generations rows and /evaluations rows) written until the
  /// next commit, unless one is open.
  void ensure_segment() {
    if (segment_is_open()) return;
    std::error_code error;
    std::filesystem::create_directories(segments_directory(), error);
    if (error) {
      throw StorageError("cannot create '" + segments_directory().string() +
                         "': " + file_system::describe_errno(error.value(), segments_directory()));
    }
    opened_segments = true;
    segment_file = h5::h5f_create(open_segment_path().string(), H5F_ACC_TRUNC);
    const hid_t root = segment_file.id();
    write_int64_attribute(root, "schema_version", run_store_schema_version);
    write_string_attribute(root, "format", std::string(segment_format));
    write_int64_attribute(root, "segment", segment_count);
    write_int64_attribute(root, "first_generation", static_cast<std::int64_t>(completed_generations));
    segment_first_generation = completed_generations;
    segment_evaluations = 0;
    create_generation_datasets();
  }

  /// Rows of the open segment's /generations datasets.
  hsize_t segment_generations() const { return completed_generations - segment_first_generation; }

  /// Commits the open segment: closes it (everything reaches the file), fsyncs it, renames it to its
  /// final name and fsyncs the directory; then lists it in the root's working copy. Never touched again.
  void close_segment() {
    if (!segment_is_open()) return;
    close_segment_objects();
    segment_file.close();  // on failure the handle is gone; publish() removes the .partial
    const std::filesystem::path partial = open_segment_path();
    const std::filesystem::path final_path = segment_path(segment_count);
    sync_path(partial, false);
    durable::rename_file(partial, final_path);
    sync_path(segments_directory(), true);
    const auto generations = static_cast<std::int64_t>(segment_generations());
    const auto evaluations = static_cast<std::int64_t>(segment_evaluations);
    append_log_rows(segment_generation_counts, 1, &generations);
    append_log_rows(segment_evaluation_counts, 1, &evaluations);
    ++segment_count;
  }

  /// The root's /segments group: created empty, or opened with the committed list.
  void create_segment_list() {
    const std::string group_path = "/" + segments_group_name;
    segments_group = h5::h5g_create2(file.id(), segments_group_name);
    segment_generation_counts = create_log_column(segments_group.id(), group_path, "generations", H5T_STD_I64LE,
                                                  H5T_NATIVE_INT64, false, 0);
    segment_evaluation_counts = create_log_column(segments_group.id(), group_path, "evaluations", H5T_STD_I64LE,
                                                  H5T_NATIVE_INT64, false, 0);
  }

  void open_segment_list() {
    const std::string group_path = "/" + segments_group_name;
    segments_group = h5::h5g_open2(file.id(), segments_group_name);
    segment_generation_counts = {group_path + "/generations", h5::h5d_open2(segments_group.id(), "generations"),
                                 H5T_NATIVE_INT64, 0};
    segment_evaluation_counts = {group_path + "/evaluations", h5::h5d_open2(segments_group.id(), "evaluations"),
                                 H5T_NATIVE_INT64, 0};
  }

  /// Copies the run file to the working copy and opens it for writing.
  void open_working_copy() {
    durable::copy_whole_file(path, working_path());
    file = h5::h5f_open(working_path().string(), H5F_ACC_RDWR);
    root_generations_group = h5::h5g_open2(file.id(), generations_group_name);
    open_segment_list();
  }

  std::string context() const { return "run file '" + path.string() + "'"; }
  hsize_t gene_count() const { return static_cast<hsize_t>(space.size()); }

  /// Throws unless the genome carries one step size per gene, one per group or one (global).
  void check_step_size_count(const Genome& genome, std::size_t index) const {
    const Eigen::Index carried = genome.step_size.size();
    const auto n = static_cast<Eigen::Index>(gene_count());
    if (carried == n || carried == 1 || carried == space.group_count()) return;
    throw StorageError("append_generation: genome " + std::to_string(index) + " (id " + std::to_string(genome.id) +
                       ") carries " + std::to_string(carried) + " step sizes, expected " + std::to_string(n) +
                       " (per gene), " + std::to_string(space.group_count()) + " (per group) or 1 (global)");
  }

  /// The genome's step sizes as one per gene into out[0, n): per-gene vectors as they are, a global one
  /// broadcast, per-group ones spread over their genes (SearchSpace::group_of_gene). The count must
  /// have passed check_step_size_count.
  void spread_step_sizes(const Genome& genome, double* out) const {
    const auto n = static_cast<Eigen::Index>(gene_count());
    const Eigen::Index carried = genome.step_size.size();
    if (carried == n) {
      std::copy(genome.step_size.data(), genome.step_size.data() + n, out);
    } else if (carried == 1) {
      std::fill(out, out + n, genome.step_size[0]);
    } else {
      const std::vector<int>& group = space.group_of_gene();
      for (Eigen::Index j = 0; j < n; ++j) out[j] = genome.step_size[group[static_cast<std::size_t>(j)]];
    }
  }

  /// /config/data_files: one row per file a [[tasks]] table read (none: the group is still written).
  static void write_data_files(hid_t config_group, const RunConfig& config) {
    std::vector<std::int64_t> tables;
    std::vector<std::string> paths, digests;
    for (std::size_t table = 0; table < config.tasks.size(); ++table) {
      for (const DataFileRecord& file : config.tasks[table].data_files) {
        tables.push_back(static_cast<std::int64_t>(table));
        paths.push_back(file.path);
        digests.push_back(file.sha256);
      }
    }
    const h5::Group group = h5::h5g_create2(config_group, data_files_group_name);
    write_int64_vector_dataset(group.id(), "task_table", tables);
    write_string_vector_dataset(group.id(), "path", paths);
    write_string_vector_dataset(group.id(), "sha256", digests);
  }

  /// /config/plugins: one row per plugin the run loaded, which resume loads again (none: still written).
  static void write_plugins(hid_t config_group, const RunConfig& config) {
    std::vector<std::string> paths, digests;
    for (const PluginRecord& plugin : config.plugins) {
      paths.push_back(plugin.path);
      digests.push_back(plugin.sha256);
    }
    const h5::Group group = h5::h5g_create2(config_group, plugins_group_name);
    write_string_vector_dataset(group.id(), "path", paths);
    write_string_vector_dataset(group.id(), "sha256", digests);
  }

  void write_header(const RunConfig& config) {
    const hid_t root = file.id();
    write_int64_attribute(root, "schema_version", run_store_schema_version);
    write_string_attribute(root, "format", std::string(run_file_format));
    write_string_attribute(root, "metaevo_version", std::string(metaevo_version));
    write_string_attribute(root, "created_utc", utc_timestamp());
    // What float32 MLP tasks computed with in the process that created the file (METAEVO_SIMD).
    write_string_attribute(root, "float32_kernel", std::string(float32_kernel()));

    const h5::Group config_group = h5::h5g_create2(root, config_group_name);
    write_string_attribute(config_group.id(), "toml", config.source_text);
    write_string_attribute(config_group.id(), "source_name", config.source_name);
    write_uint64_attribute(config_group.id(), "seed", config.run.seed);
    write_int64_attribute(config_group.id(), "generations", config.run.generations);
    // A row of /generations: every island's population, island i in columns [i * P, (i + 1) * P).
    write_int64_attribute(config_group.id(), "population_size", config.generation_size());
    write_int64_attribute(config_group.id(), "islands", config.islands.count);
    write_int64_attribute(config_group.id(), "island_population_size", config.population_size());
    write_int64_attribute(config_group.id(), "tasks_per_evaluation", config.evaluation.tasks_per_evaluation);
    write_int64_attribute(config_group.id(), "inner_steps", config.evaluation.inner_steps);
    write_string_attribute(config_group.id(), "update_rule_family", config.update_rule.family);
    write_string_attribute(config_group.id(), "base_directory", config.base_directory.string());
    write_data_files(config_group.id(), config);
    write_plugins(config_group.id(), config);

    std::vector<std::string> names, kinds, groups, choices;
    std::vector<double> lows, highs;
    for (const GeneSpec& gene : space.genes()) {
      names.push_back(gene.name);
      kinds.emplace_back(to_string(gene.kind));
      lows.push_back(gene.low);
      highs.push_back(gene.high);
      groups.push_back(gene.group);
      choices.push_back(gene.kind == GeneKind::categorical ? join_choices(gene.choices) : std::string());
    }
    const h5::Group space_group = h5::h5g_create2(root, search_space_group_name);
    write_string_vector_dataset(space_group.id(), "name", names);
    write_string_vector_dataset(space_group.id(), "kind", kinds);
    write_double_vector_dataset(space_group.id(), "low", lows);
    write_double_vector_dataset(space_group.id(), "high", highs);
    write_string_vector_dataset(space_group.id(), "group", groups);
    write_string_vector_dataset(space_group.id(), "choices", choices);
    write_int64_attribute(space_group.id(), "size", static_cast<std::int64_t>(space.size()));

    // Blocks of real genes: one row each, in coordinate order (offset = first coordinate in /generations/genes).
    std::vector<std::string> block_names, block_descriptions;
    std::vector<double> block_lows, block_highs, initial_values, initial_scales;
    std::vector<std::int64_t> lengths, offsets;
    for (std::size_t b = 0; b < space.blocks().size(); ++b) {
      const GeneBlock& block = space.blocks()[b];
      block_names.push_back(block.name);
      block_descriptions.push_back(block.description);
      lengths.push_back(block.length);
      offsets.push_back(static_cast<std::int64_t>(space.block_offset(b)));
      block_lows.push_back(block.low);
      block_highs.push_back(block.high);
      initial_values.push_back(block.initial_value);
      initial_scales.push_back(block.initial_scale);
    }
    const h5::Group blocks_group = h5::h5g_create2(space_group.id(), "blocks");
    write_string_vector_dataset(blocks_group.id(), "name", block_names);
    write_string_vector_dataset(blocks_group.id(), "description", block_descriptions);
    write_int64_vector_dataset(blocks_group.id(), "length", lengths);
    write_int64_vector_dataset(blocks_group.id(), "offset", offsets);
    write_double_vector_dataset(blocks_group.id(), "low", block_lows);
    write_double_vector_dataset(blocks_group.id(), "high", block_highs);
    write_double_vector_dataset(blocks_group.id(), "initial_value", initial_values);
    write_double_vector_dataset(blocks_group.id(), "initial_scale", initial_scales);
  }

  /// The root's /generations group: only completed_generations; the rows are in the segments.
  void create_root_generations_group() {
    root_generations_group = h5::h5g_create2(file.id(), generations_group_name);
    write_int64_attribute(root_generations_group.id(), completed_generations_attribute, 0);
  }

  /// The bulk datasets of a new segment, empty, in segment_file.
  void create_generation_datasets() {
    const std::string group_path = "/" + generations_group_name;
    generations_group = h5::h5g_create2(segment_file.id(), generations_group_name);
    const hid_t group = generations_group.id();
    const hsize_t p = population_size;
    const hsize_t n = gene_count();
    // Genes are not compressed: deflate saves ~5% on normalized coordinates (random mantissas) and
    // costs ~150 ms per 2.5 MB, 15% of a 1 s generation of a 5,000-gene population of 64. Step sizes
    // are when they repeat (a global or per-group step size spread over the genes: ~0.5% remains);
    // when they are all one value (sigma), rows equal to the fill value are not written at all.
    RowStorage whole_rows;
    whole_rows.rows_written_whole = true;
    genes = create_generation_dataset(group, group_path, "genes", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {p, n}, false,
                                      whole_rows);
    RowStorage step_rows = whole_rows;
    step_rows.deflate = step_size_deflate_level;
    step_rows.fill_value = step_size_fill;
    step_size = create_generation_dataset(group, group_path, "step_size", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {p, n},
                                          step_sizes_repeat, step_rows);
    write_string_attribute(step_size.dataset.id(), "step_size_adaptation",
                           std::string(to_string(step_size_adaptation)));
    for (const EvaluationField& field : evaluation_fields()) {
      if (field.log_only) continue;
      evaluation_rows.push_back(create_generation_dataset(group, group_path, field.name, field.file_type,
                                                          field.memory_type, generation_row_dims(field), field.compress));
    }

    const h5::Group decoded_group = h5::h5g_create2(group, decoded_group_name);
    const std::string decoded_path = group_path + "/" + decoded_group_name;
    for (const GeneSpec& gene : space.genes()) {
      const bool categorical = gene.kind == GeneKind::categorical;
      GenerationDataset column =
          categorical
              ? create_generation_dataset(decoded_group.id(), decoded_path, gene.name, H5T_STD_I64LE,
                                          H5T_NATIVE_INT64, {p}, true)
              : create_generation_dataset(decoded_group.id(), decoded_path, gene.name, H5T_IEEE_F64LE,
                                          H5T_NATIVE_DOUBLE, {p}, true);
      write_string_attribute(column.dataset.id(), "kind", std::string(to_string(gene.kind)));
      if (categorical) write_string_array_attribute(column.dataset.id(), "choices", gene.choices);
      decoded.push_back(std::move(column));
    }
    create_evaluation_log();
  }

  /// Opens `name` under the root, creating the group when it is missing.
  h5::Group open_or_create_group(const std::string& name) {
    return h5::h5l_exists(file.id(), name) ? h5::h5g_open2(file.id(), name) : h5::h5g_create2(file.id(), name);
  }
};

RunStore::RunStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunStore::RunStore(RunStore&&) noexcept = default;
RunStore& RunStore::operator=(RunStore&&) noexcept = default;
RunStore::~RunStore() {
  // Handles close themselves (never throwing); keep HDF5 quiet if a close fails. What was not
  // flushed is dropped, exactly as after a crash.
  if (!impl_) return;
  h5::ErrorPrintingSilencer silence;
  impl_->discard();
}

RunStore RunStore::create(const std::filesystem::path& path, const RunConfig& config) {
  h5::ErrorPrintingSilencer silence;
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const std::string context = "cannot create run file '" + path.string() + "': ";
  impl->space = config.search_space();  // ConfigError for an invalid search space, as from the config
  if (config.population_size() < 1) {
    throw StorageError(context + "ga.population_size must be >= 1, got " +
                       std::to_string(config.population_size()));
  }
  impl->population_size = static_cast<hsize_t>(config.generation_size());
  impl->tasks_per_evaluation = static_cast<hsize_t>(config.evaluation.tasks_per_evaluation);
  impl->step_size_adaptation = config.ga.step_size_adaptation;
  try {
    const std::filesystem::path parent = path.parent_path();
    std::error_code error;
    if (!parent.empty() && !std::filesystem::is_directory(parent, error)) {
      throw StorageError("directory '" + parent.string() + "' does not exist");
    }
    if (std::filesystem::is_directory(path, error)) throw StorageError("it is a directory");
    impl->lock = RunFileLock::acquire(path);  // before the working copy is touched
    impl->file = h5::h5f_create(impl->working_path().string(), H5F_ACC_TRUNC);
    impl->string_type = h5::variable_length_string_type();
    impl->write_header(config);
    impl->create_root_generations_group();
    impl->create_segment_list();
    impl->publish();
    // Only now, with the new root (listing no segment) in place, the replaced run's segments go: a kill
    // before this point leaves the replaced run whole, a kill after it only unlisted leftovers.
    remove_unlisted_segments(path, 0);
  } catch (const StorageError& error) {
    impl->discard();  // no working copy or staging file stays behind; a replaced run stays whole
    throw StorageError(context + error.what());
  }
  return RunStore(std::move(impl));
}

ResumedRun RunStore::resume(const std::filesystem::path& path, const ProgressCallback& progress) {
  // One-line StorageError for unusable files.
  RunFileReadOptions options;
  options.progress = progress;
  const RunFileContents contents = read_run_file(path, options);
  h5::ErrorPrintingSilencer silence;
  const auto failure = [&path](const std::string& reason) {
    return StorageError("cannot resume run file '" + path.string() + "': " + reason);
  };
  RunConfig config;
  try {
    config = parse_config(contents.config_toml, path.string() + ":/config/toml", contents.config_base_directory);
  } catch (const ConfigError& error) {
    throw failure(std::string("its stored config is invalid: ") + error.what());
  }
  // A run continues on the data it started with: a changed file would silently change the tasks.
  std::vector<DataFileRecord> now;
  for (const TaskConfig& task : config.tasks) now.insert(now.end(), task.data_files.begin(), task.data_files.end());
  for (std::size_t i = 0; i < std::min(now.size(), contents.data_files.size()); ++i) {
    if (now[i].sha256 != contents.data_files[i].sha256) {
      throw failure("data file " + now[i].path + " has changed since the run started (SHA-256 " + now[i].sha256 +
                    ", the run file records " + contents.data_files[i].sha256 + ")");
    }
  }
  // The caller loaded these (parse_config above needed their families); the workers load them too.
  config.plugins = contents.plugins;
  // The command line may have overridden these when the run started: the stored values are the run's.
  config.run.seed = contents.seed;
  config.run.generations = contents.configured_generations;
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->space = config.search_space();
  impl->population_size = static_cast<hsize_t>(config.generation_size());
  impl->tasks_per_evaluation = static_cast<hsize_t>(config.evaluation.tasks_per_evaluation);
  impl->step_size_adaptation = config.ga.step_size_adaptation;
  if (contents.population_size != config.generation_size()) {
    throw failure("its generations have " + std::to_string(contents.population_size) +
                  " genomes but its config says " + std::to_string(config.generation_size()) + " per generation");
  }
  Checkpoint checkpoint;
  try {
    impl->lock = RunFileLock::acquire(path);  // a live run's working copy is not a killed run's
  } catch (const StorageError& error) {
    throw failure(error.what());
  }
  try {
    std::error_code ignored;
    std::filesystem::remove(impl->working_path(), ignored);  // left by a run that was killed
    std::filesystem::remove(impl->staging_path(), ignored);
    impl->string_type = h5::variable_length_string_type();
    impl->open_working_copy();
    impl->segment_count = static_cast<std::int64_t>(read_segment_list(impl->file.id()).generations.size());
    impl->published_segments = impl->segment_count;
    // A segment renamed just before a kill (newer than the root) or torn mid-write is not part of the run.
    remove_unlisted_segments(path, impl->segment_count);
    impl->completed_generations = static_cast<hsize_t>(contents.generations);
    if (h5::h5l_exists(impl->file.id(), checkpoint_group_name)) {
      const h5::Group group = h5::h5g_open2(impl->file.id(), checkpoint_group_name);
      checkpoint.completed_generations = read_int64_attribute(group.id(), "completed_generations");
      checkpoint.submitted_evaluations = read_int64_attribute(group.id(), "submitted_evaluations");
      checkpoint.session = read_int64_attribute(group.id(), "session");
      checkpoint.elapsed_seconds = read_double_attribute(group.id(), "elapsed_seconds");
      if (h5::h5l_exists(group.id(), island_states_group_name)) {
        const h5::Group islands = h5::h5g_open2(group.id(), island_states_group_name);
        for (std::size_t island = 0; island < static_cast<std::size_t>(config.islands.count); ++island) {
          checkpoint.island_states.push_back(read_strategy_state(islands.id(), island_state_name(island)));
        }
      } else {
        checkpoint.strategy_state = read_strategy_state(group.id(), strategy_state_group_name);
      }
      if ((config.islands.count > 1) != !checkpoint.island_states.empty()) {
        throw StorageError("its config has " + std::to_string(config.islands.count) + " islands but its checkpoint " +
                           (checkpoint.island_states.empty() ? "has one strategy state" : "has island states"));
      }
      check_checkpoint_parts(checkpoint);
      if (h5::h5l_exists(group.id(), validated_best_group_name)) {
        const StrategyState validated = read_strategy_state(group.id(), validated_best_group_name);
        validated.require(validated_best_group_name, 1);
        std::vector<Genome> genome = validated.genomes("genome", impl->space.size(), 1);
        checkpoint.validated_best =
            ValidatedBest{std::move(genome.front()), validated.real("validation_fitness"), validated.real("training_fitness")};
      }
      if (checkpoint.completed_generations != contents.generations) {
        throw StorageError("its checkpoint is at generation " + std::to_string(checkpoint.completed_generations) +
                           " but it stores " + std::to_string(contents.generations) + " generations");
      }
    } else if (contents.generations != 0) {
      throw StorageError("it stores " + std::to_string(contents.generations) + " generations but no checkpoint");
    }
    // No checkpoint and no generation: killed right after creation; the run restarts from its seed.
  } catch (const StorageError& error) {
    impl->discard();
    const std::string message = error.what();
    if (message.rfind("cannot resume", 0) == 0) throw;
    throw failure(message);
  }
  return ResumedRun{RunStore(std::move(impl)), std::move(config), std::move(checkpoint)};
}

void RunStore::append_generation(const std::vector<Genome>& population, const std::vector<EvaluationResult>& results) {
  if (!impl_) throw StorageError("RunStore::append_generation on a moved-from store");
  h5::ErrorPrintingSilencer silence;
  Impl& store = *impl_;
  const hsize_t generation = store.completed_generations;
  const std::string context = store.context() + ": append_generation (generation " + std::to_string(generation) + "): ";
  const std::size_t p = static_cast<std::size_t>(store.population_size);
  const auto n = static_cast<Eigen::Index>(store.gene_count());

  // Check everything before the first write.
  if (population.size() != p) {
    throw StorageError(context + "population has " + std::to_string(population.size()) +
                       " genomes, expected population_size " + std::to_string(p));
  }
  if (results.size() != p) {
    throw StorageError(context + "got " + std::to_string(results.size()) + " evaluation results, expected population_size " +
                       std::to_string(p));
  }
  EvaluationColumns columns(/*session_number=*/0, store.tasks_per_evaluation);  // the session is a log_only field
  // Decoded values are stored for the named scalar genes; a block's values are low + x (high - low) of
  // its coordinates in /generations/genes, so storing them again would double the bulk of the file.
  const Eigen::Index scalars = store.space.scalar_count();
  std::vector<std::vector<double>> decoded_numeric(static_cast<std::size_t>(scalars));
  std::vector<std::vector<std::int64_t>> decoded_choice(static_cast<std::size_t>(scalars));
  try {
    for (std::size_t i = 0; i < p; ++i) {
      const Genome& genome = population[i];
      const EvaluationResult& result = results[i];
      if (genome.x.size() != n) {
        throw StorageError("genome " + std::to_string(i) + " (id " + std::to_string(genome.id) + ") has " +
                           std::to_string(genome.x.size()) + " genes, expected " + std::to_string(n) +
                           " (the search space size)");
      }
      if (result.genome_id != genome.id) {
        throw StorageError("result " + std::to_string(i) + " is for genome id " + std::to_string(result.genome_id) +
                           " but genome " + std::to_string(i) + " has id " + std::to_string(genome.id));
      }
      store.check_step_size_count(genome, i);
      columns.add(genome, result);
      for (Eigen::Index j = 0; j < scalars; ++j) {
        const GeneSpec& gene = store.space.gene(j);
        const GeneValue value = store.space.decode_gene(j, genome.x[j]);
        const auto column = static_cast<std::size_t>(j);
        if (gene.kind == GeneKind::categorical) {
          decoded_choice[column].push_back(choice_index(gene, std::get<std::string>(value)));
        } else {
          decoded_numeric[column].push_back(numeric_value(value));
        }
      }
    }
  } catch (const StorageError& error) {
    throw StorageError(context + error.what());
  }

  const std::optional<double> common_step_size = single_step_size(population);
  try {
    if (!population.empty() && !store.segment_is_open()) {
      const Eigen::VectorXd& first = population.front().step_size;
      store.step_sizes_repeat = first.size() < n || (first.size() > 0 && (first.array() == first[0]).all());
      store.step_size_fill = common_step_size;
    }
    store.ensure_segment();
    const hsize_t local = store.segment_generations();  // the generation's row in the open segment
    const auto row_length = static_cast<std::size_t>(n);
    std::vector<double>& genes = store.gene_rows;
    genes.resize(p * row_length);
    for (std::size_t i = 0; i < p; ++i) {
      std::copy(population[i].x.data(), population[i].x.data() + n, genes.data() + i * row_length);
    }
    write_generation_row(store.genes, local, genes.data());
    if (common_step_size && store.step_size_fill && same_bits(*common_step_size, *store.step_size_fill)) {
      add_generation_row(store.step_size, local);  // reads as the fill value: nothing to write or deflate
    } else {
      std::vector<double>& step_sizes = store.step_size_rows;
      step_sizes.resize(p * row_length);
      for (std::size_t i = 0; i < p; ++i) store.spread_step_sizes(population[i], step_sizes.data() + i * row_length);
      write_generation_row(store.step_size, local, step_sizes.data());
    }
    std::size_t row = 0;
    for (const EvaluationField& field : store.evaluation_fields()) {
      if (!field.log_only) write_generation_row(store.evaluation_rows.at(row++), local, field.data(columns));
    }
    for (Eigen::Index j = 0; j < scalars; ++j) {
      const auto column = static_cast<std::size_t>(j);
      const void* data = store.space.gene(j).kind == GeneKind::categorical
                             ? static_cast<const void*>(decoded_choice[column].data())
                             : static_cast<const void*>(decoded_numeric[column].data());
      write_generation_row(store.decoded[column], local, data);
    }
    // Written last: a reader trusts only rows below this count, so a crash mid-append is harmless.
    write_int64_attribute(store.root_generations_group.id(), completed_generations_attribute,
                          static_cast<std::int64_t>(generation + 1));
  } catch (const StorageError& error) {
    throw StorageError(context + error.what());
  }
  store.completed_generations = generation + 1;
}

void RunStore::append_strategy_statistics(const StrategyStatistics& statistics) {
  if (!impl_) throw StorageError("RunStore::append_strategy_statistics on a moved-from store");
  h5::ErrorPrintingSilencer silence;
  Impl& store = *impl_;
  if (store.completed_generations == 0) {
    throw StorageError(store.context() + ": append_strategy_statistics before any generation");
  }
  if (!store.segment_is_open() || store.segment_generations() == 0) {
    throw StorageError(store.context() + ": append_strategy_statistics after a commit: call it before the commit of its generation");
  }
  const hsize_t generation = store.segment_generations() - 1;  // its row in the open segment
  try {
    const h5::Group group = h5::h5l_exists(store.generations_group.id(), strategy_statistics_group_name)
                                ? h5::h5g_open2(store.generations_group.id(), strategy_statistics_group_name)
                                : h5::h5g_create2(store.generations_group.id(), strategy_statistics_group_name);
    const std::string group_path = "/" + generations_group_name + "/" + strategy_statistics_group_name;
    for (const auto& [name, value] : statistics) {
      if (name.empty() || name == "." || name.find('/') != std::string::npos) {
        throw StorageError("strategy statistic '" + name + "' cannot be an HDF5 dataset name");
      }
      GenerationDataset column;
      if (h5::h5l_exists(group.id(), name)) {
        column = open_generation_dataset(group.id(), group_path, name, H5T_NATIVE_DOUBLE, {});
      } else {
        column = create_generation_dataset(group.id(), group_path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, false);
      }
      // Rows of generations before this statistic existed (another strategy version, a resume) are NaN.
      const h5::Dataspace space = h5::h5d_get_space(column.dataset.id(), column.name);
      const hsize_t rows = h5::h5s_get_simple_extent_dims(space.id(), column.name).at(0);
      const double missing = std::numeric_limits<double>::quiet_NaN();
      for (hsize_t row = rows; row < generation; ++row) write_generation_row(column, row, &missing);
      write_generation_row(column, generation, &value);
    }
  } catch (const StorageError& error) {
    throw StorageError(store.context() + ": append_strategy_statistics: " + error.what());
  }
}

void RunStore::append_validation_fitness(const std::vector<double>& fitness) {
  if (!impl_) throw StorageError("RunStore::append_validation_fitness on a moved-from store");
  h5::ErrorPrintingSilencer silence;
  Impl& store = *impl_;
  const std::string context = store.context() + ": append_validation_fitness: ";
  if (store.completed_generations == 0) throw StorageError(context + "before any generation");
  if (fitness.size() != store.population_size) {
    throw StorageError(context + std::to_string(fitness.size()) + " values for a population of " +
                       std::to_string(store.population_size));
  }
  if (!store.segment_is_open() || store.segment_generations() == 0) {
    throw StorageError(context + "after a commit: call it before the commit of its generation");
  }
  const hsize_t generation = store.segment_generations() - 1;  // its row in the open segment
  try {
    const hid_t group = store.generations_group.id();
    const std::string group_path = "/" + generations_group_name;
    GenerationDataset column =
        h5::h5l_exists(group, validation_fitness_name)
            ? open_generation_dataset(group, group_path, validation_fitness_name, H5T_NATIVE_DOUBLE,
                                      {store.population_size})
            : create_generation_dataset(group, group_path, validation_fitness_name, H5T_IEEE_F64LE,
                                        H5T_NATIVE_DOUBLE, {store.population_size}, true);
    const h5::Dataspace space = h5::h5d_get_space(column.dataset.id(), column.name);
    const hsize_t rows = h5::h5s_get_simple_extent_dims(space.id(), column.name).at(0);
    const std::vector<double> missing(store.population_size, std::numeric_limits<double>::quiet_NaN());
    for (hsize_t row = rows; row < generation; ++row) write_generation_row(column, row, missing.data());
    write_generation_row(column, generation, fitness.data());
  } catch (const StorageError& error) {
    throw StorageError(context + error.what());
  }
}

void RunStore::write_best(const Genome& best, double fitness, std::optional<double> validation_fitness) {
  if (!impl_) throw StorageError("RunStore::write_best on a moved-from store");
  h5::ErrorPrintingSilencer silence;
  Impl& store = *impl_;
  const std::string context = store.context() + ": write_best: ";
  const auto n = static_cast<Eigen::Index>(store.gene_count());
  if (best.x.size() != n) {
    throw StorageError(context + "genome id " + std::to_string(best.id) + " has " + std::to_string(best.x.size()) +
                       " genes, expected " + std::to_string(n) + " (the search space size)");
  }
  try {
    const h5::Group group = store.open_or_create_group(best_group_name);
    write_int64_attribute(group.id(), "genome_id", best.id);
    write_int64_attribute(group.id(), "generation", best.generation);
    write_double_attribute(group.id(), "fitness", fitness);
    write_string_attribute(group.id(), "selected_by", validation_fitness ? "validation" : "training");
    write_double_attribute(group.id(), "validation_fitness",
                           validation_fitness.value_or(std::numeric_limits<double>::quiet_NaN()));
    const std::string genes_path = "/" + best_group_name + "/genes";
    const h5::Dataset genes = h5::h5l_exists(group.id(), "genes")
                                  ? h5::h5d_open2(group.id(), "genes")
                                  : h5::h5d_create2(group.id(), "genes", H5T_IEEE_F64LE,
                                                    h5::h5s_create_simple({store.gene_count()}).id());
    std::vector<double> values(best.x.data(), best.x.data() + best.x.size());
    if (!values.empty()) h5::h5d_write(genes.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, values.data(), genes_path);

    const h5::Group decoded = h5::h5l_exists(group.id(), decoded_group_name)
                                  ? h5::h5g_open2(group.id(), decoded_group_name)
                                  : h5::h5g_create2(group.id(), decoded_group_name);
    for (Eigen::Index j = 0; j < store.space.scalar_count(); ++j) {
      const GeneSpec& gene = store.space.gene(j);
      const GeneValue value = store.space.decode_gene(j, best.x[j]);
      if (gene.kind == GeneKind::categorical) {
        write_string_attribute(decoded.id(), gene.name, std::get<std::string>(value));
      } else {
        write_double_attribute(decoded.id(), gene.name, numeric_value(value));
      }
    }
    // A block's values as one dataset /best/decoded/<block>, rewritten in place.
    Eigen::VectorXd block_values;
    for (std::size_t b = 0; b < store.space.blocks().size(); ++b) {
      const GeneBlock& block = store.space.blocks()[b];
      store.space.decode_block(best.x, b, block_values);
      const std::string path = "/" + best_group_name + "/" + decoded_group_name + "/" + block.name;
      const h5::Dataset dataset =
          h5::h5l_exists(decoded.id(), block.name)
              ? h5::h5d_open2(decoded.id(), block.name)
              : h5::h5d_create2(decoded.id(), block.name, H5T_IEEE_F64LE,
                                h5::h5s_create_simple({static_cast<hsize_t>(block.length)}).id());
      h5::h5d_write(dataset.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, block_values.data(), path);
    }
  } catch (const StorageError& error) {
    throw StorageError(context + error.what());
  }
}

void RunStore::write_holdout_report(const HoldoutReport& report) {
  if (!impl_) throw StorageError("RunStore::write_holdout_report on a moved-from store");
  h5::ErrorPrintingSilencer silence;
  Impl& store = *impl_;
  try {
    const h5::Group group = store.open_or_create_group(holdout_group_name);
    write_int64_attribute(group.id(), "task_count", report.task_count);
    write_double_attribute(group.id(), "best_fitness", report.best_fitness);
    write_double_attribute(group.id(), "default_fitness", report.default_fitness);
    write_double_attribute(group.id(), "best_mean_final_loss", report.best_mean_final_loss);
    write_double_attribute(group.id(), "default_mean_final_loss", report.default_mean_final_loss);
  } catch (const StorageError& error) {
    throw StorageError(store.context() + ": write_holdout_report: " + error.what());
  }
}

void RunStore::flush() {
  if (!impl_) throw StorageError("RunStore::flush on a moved-from store");
  h5::ErrorPrintingSilencer silence;
  try {
    impl_->publish();
  } catch (const StorageError& error) {
    throw StorageError(impl_->context() + ": flush: " + error.what());
  }
}

std::int64_t RunStore::completed_generations() const { return static_cast<std::int64_t>(impl_->completed_generations); }
const std::filesystem::path& RunStore::path() const { return impl_->path; }

void RunStore::set_configured_generations(std::int64_t generations) {
  h5::ErrorPrintingSilencer silence;
  const h5::Group config_group = h5::h5g_open2(impl_->file.id(), config_group_name);
  write_int64_attribute(config_group.id(), "generations", generations);
}

void RunStore::commit(const Checkpoint& checkpoint) {
  if (!impl_) throw StorageError("RunStore::commit on a moved-from store");
  h5::ErrorPrintingSilencer silence;
  Impl& store = *impl_;
  try {
    if (checkpoint.completed_generations != static_cast<std::int64_t>(store.completed_generations)) {
      throw StorageError("checkpoint at generation " + std::to_string(checkpoint.completed_generations) + " but " +
                         std::to_string(store.completed_generations) + " generations are stored");
    }
    const h5::Group group = store.open_or_create_group(checkpoint_group_name);
    write_int64_attribute(group.id(), "completed_generations", checkpoint.completed_generations);
    write_int64_attribute(group.id(), "submitted_evaluations", checkpoint.submitted_evaluations);
    write_int64_attribute(group.id(), "session", checkpoint.session);
    write_double_attribute(group.id(), "elapsed_seconds", checkpoint.elapsed_seconds);
    write_string_attribute(group.id(), "written_utc", utc_timestamp());
    if (!checkpoint.island_states.empty()) {
      const h5::Group islands = store.open_or_create_group(checkpoint_group_name + "/" + island_states_group_name);
      for (std::size_t island = 0; island < checkpoint.island_states.size(); ++island) {
        write_strategy_state(islands.id(), island_state_name(island), checkpoint.island_states[island]);
      }
    } else {
      if (!checkpoint.strategy_state) throw StorageError("a checkpoint without the search strategy's state");
      write_strategy_state(group.id(), strategy_state_group_name, *checkpoint.strategy_state);
    }
    if (checkpoint.validated_best) {
      StrategyState validated;
      validated.strategy = validated_best_group_name;
      validated.put_genomes("genome", {checkpoint.validated_best->genome});
      validated.put("validation_fitness", checkpoint.validated_best->validation_fitness);
      validated.put("training_fitness", checkpoint.validated_best->training_fitness);
      write_strategy_state(group.id(), validated_best_group_name, validated);
    }
  } catch (const StorageError& error) {
    throw StorageError(store.context() + ": commit: " + error.what());
  }
  flush();
}

void RunStore::append_evaluations(const std::vector<Genome>& genomes, const std::vector<EvaluationResult>& results,
                                  std::int64_t session) {
  if (!impl_) throw StorageError("RunStore::append_evaluations on a moved-from store");
  if (genomes.size() != results.size()) {
    throw StorageError(impl_->context() + ": append_evaluations: " + std::to_string(genomes.size()) + " genomes but " +
                       std::to_string(results.size()) + " results");
  }
  h5::ErrorPrintingSilencer silence;
  EvaluationColumns gathered(session, impl_->tasks_per_evaluation);
  for (std::size_t i = 0; i < genomes.size(); ++i) gathered.add(genomes[i], results[i]);
  try {
    if (genomes.empty()) return;
    impl_->ensure_segment();
    const std::vector<EvaluationField> fields = impl_->evaluation_fields();
    for (std::size_t c = 0; c < fields.size(); ++c) {
      append_log_rows(impl_->log_columns.at(c), genomes.size(), fields[c].data(gathered));
    }
    impl_->segment_evaluations += genomes.size();
  } catch (const StorageError& error) {
    throw StorageError(impl_->context() + ": append_evaluations: " + error.what());
  }
}

namespace {

/// Appends the first `rows` generations of a segment's per-task results ([rows, P, K] each, K from
/// the dataset's shape) to contents.task_scores / task_families.
void read_segment_task_results(hid_t generations, const std::string& where, hsize_t rows, hsize_t population_size,
                               RunFileContents& contents) {
  if (!h5::h5l_exists(generations, "task_family") || !h5::h5l_exists(generations, "task_score")) return;
  const std::string families_path = where + "/generations/task_family";
  const std::string scores_path = where + "/generations/task_score";
  const h5::Dataset families = h5::h5d_open2(generations, "task_family");
  const h5::Dataspace family_space = h5::h5d_get_space(families.id(), families_path);
  const std::vector<hsize_t> family_dims = h5::h5s_get_simple_extent_dims(family_space.id(), families_path);
  if (family_dims.size() != 3) throw StorageError("dataset '" + families_path + "' is not [G, P, K]");
  const hsize_t k = family_dims[2];
  if (contents.tasks_per_evaluation != 0 && contents.tasks_per_evaluation != static_cast<std::int64_t>(k)) {
    throw StorageError("dataset '" + families_path + "' has " + std::to_string(k) + " task slots, an earlier segment " +
                       std::to_string(contents.tasks_per_evaluation));
  }
  contents.tasks_per_evaluation = static_cast<std::int64_t>(k);
  const h5::Dataset scores = h5::h5d_open2(generations, "task_score");
  checked_dims(scores.id(), scores_path, {population_size, k}, rows);
  checked_dims(families.id(), families_path, {population_size, k}, rows);
  require_memory_for(static_cast<long double>(contents.task_scores.size() + rows * population_size * k) * 16.0L,
                     "the task results of " + where + "/generations");
  const std::size_t count = static_cast<std::size_t>(rows * population_size * k);
  if (count == 0) return;
  const std::size_t offset = contents.task_scores.size();
  contents.task_scores.resize(offset + count);
  contents.task_families.resize(offset + count);
  const h5::Dataspace memory = h5::h5s_create_simple({rows, population_size, k});
  const h5::Dataspace score_space = h5::h5d_get_space(scores.id(), scores_path);
  h5::h5s_select_hyperslab(score_space.id(), {0, 0, 0}, {rows, population_size, k}, scores_path);
  h5::h5d_read(scores.id(), H5T_NATIVE_DOUBLE, memory.id(), score_space.id(), contents.task_scores.data() + offset,
               scores_path);
  h5::h5s_select_hyperslab(family_space.id(), {0, 0, 0}, {rows, population_size, k}, families_path);
  h5::h5d_read(families.id(), H5T_NATIVE_INT64, memory.id(), family_space.id(), contents.task_families.data() + offset,
               families_path);
}

}  // namespace

RunFileContents read_run_file(const std::filesystem::path& path, bool with_population_genes) {
  RunFileReadOptions options;
  options.population_genes = with_population_genes;
  return read_run_file(path, options);
}

RunFileContents read_run_file(const std::filesystem::path& path, const RunFileReadOptions& options) {
  const bool with_population_genes = options.population_genes;
  h5::ErrorPrintingSilencer silence;
  const auto failure = [&path](const std::string& reason) {
    return StorageError("cannot read run file '" + path.string() + "': " + reason);
  };
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw failure("no such file");
  if (std::filesystem::is_directory(path, error)) throw failure("it is a directory");

  bool is_hdf5 = false;
  try {
    is_hdf5 = h5::h5f_is_hdf5(path.string());
  } catch (const StorageError& check_error) {
    throw failure(check_error.what());
  }
  if (!is_hdf5) throw failure("not an HDF5 file (no HDF5 signature)");

  h5::File file;
  try {
    file = h5::h5f_open(path.string(), H5F_ACC_RDONLY);
  } catch (const StorageError& open_error) {
    throw failure(std::string("HDF5 cannot open it (truncated or corrupt?): ") + open_error.what());
  }

  RunFileContents contents;
  try {
    const hid_t root = file.id();
    if (!h5::h5a_exists(root, "schema_version")) {
      throw failure("no root attribute 'schema_version' (not a metaevo run file)");
    }
    contents.schema_version = read_int64_attribute(root, "schema_version");
    if (contents.schema_version != run_store_schema_version) {
      throw failure("schema_version is " + std::to_string(contents.schema_version) + ", this metaevo reads version " +
                    std::to_string(run_store_schema_version) +
                    (contents.schema_version == 1 ? " (version 1 kept the GA state as a Boost archive: continue such "
                                                    "a run with the metaevo that wrote it)"
                                                  : contents.schema_version == 2
                                                        ? " (version 2 kept every generation in the one file: "
                                                          "continue such a run with the metaevo that wrote it)"
                                                        : ""));
    }

    const h5::Group config_group = h5::h5g_open2(root, config_group_name);
    contents.config_toml = read_string_attribute(config_group.id(), "toml");
    contents.configured_generations = read_int64_attribute(config_group.id(), "generations");
    // Absent in files written before data files were recorded.
    if (h5::h5a_exists(config_group.id(), "base_directory")) {
      contents.config_base_directory = read_string_attribute(config_group.id(), "base_directory");
    }
    if (h5::h5l_exists(config_group.id(), data_files_group_name)) {
      const h5::Group files = h5::h5g_open2(config_group.id(), data_files_group_name);
      const std::vector<std::string> paths = read_string_vector_dataset(files.id(), "path");
      const std::vector<std::string> digests = read_string_vector_dataset(files.id(), "sha256");
      if (paths.size() != digests.size()) throw failure("/config/data_files has unequal path and sha256 columns");
      for (std::size_t i = 0; i < paths.size(); ++i) contents.data_files.push_back({paths[i], digests[i]});
    }
    // Absent in files written before plugins were recorded (no plugin could be loaded then).
    if (h5::h5l_exists(config_group.id(), plugins_group_name)) {
      const h5::Group plugins = h5::h5g_open2(config_group.id(), plugins_group_name);
      const std::vector<std::string> paths = read_string_vector_dataset(plugins.id(), "path");
      const std::vector<std::string> digests = read_string_vector_dataset(plugins.id(), "sha256");
      if (paths.size() != digests.size()) throw failure("/config/plugins has unequal path and sha256 columns");
      for (std::size_t i = 0; i < paths.size(); ++i) contents.plugins.push_back({paths[i], digests[i]});
    }
    contents.seed = read_uint64_attribute(config_group.id(), "seed");  // one value (a scalar read)

    const h5::Group space_group = h5::h5g_open2(root, search_space_group_name);
    contents.gene_names = read_string_vector_dataset(space_group.id(), "name");
    // Coordinates: the scalar genes, then every block's (the size attribute counts both).
    const auto n = static_cast<hsize_t>(read_int64_attribute(space_group.id(), "size"));
    if (n < contents.gene_names.size() || n > static_cast<hsize_t>(max_search_space_size)) {
      throw failure("/search_space@size is " + std::to_string(n) + " for " + std::to_string(contents.gene_names.size()) +
                    " named genes");
    }
    contents.coordinate_count = static_cast<std::int64_t>(n);

    // The root names the committed segments; /generations rows and /evaluations rows are in them.
    const std::int64_t population_attribute = read_int64_attribute(config_group.id(), "population_size");
    if (population_attribute < 1) throw StorageError("/config@population_size is " + std::to_string(population_attribute));
    const auto population_size = static_cast<hsize_t>(population_attribute);
    const h5::Group generations = h5::h5g_open2(root, generations_group_name);
    const std::int64_t completed = read_int64_attribute(generations.id(), completed_generations_attribute);
    if (completed < 0) throw StorageError(completed_generations_attribute + " is negative");
    const SegmentList segments = read_segment_list(root);
    std::int64_t listed_generations = 0;
    for (const std::int64_t rows : segments.generations) listed_generations += rows;
    for (const std::int64_t rows : segments.evaluations) contents.evaluations_logged += rows;
    contents.segments = static_cast<std::int64_t>(segments.generations.size());
    if (listed_generations < completed) {
      throw StorageError("it stores " + std::to_string(completed) + " generations but its segments hold " +
                         std::to_string(listed_generations));
    }
    const auto generation_count = static_cast<hsize_t>(options.generations ? completed : 0);
    contents.generations = completed;
    contents.population_size = static_cast<std::int64_t>(population_size);

    const std::size_t p = static_cast<std::size_t>(population_size);
    const std::size_t gene_count = static_cast<std::size_t>(n);
    if (completed > max_generations) {
      throw StorageError(completed_generations_attribute + " is " + std::to_string(completed) + ", more than " +
                         std::to_string(max_generations) + " (the limit of run.generations)");
    }
    // Fitness (and genes) of every stored generation, each row a vector of its own.
    require_memory_for(static_cast<long double>(generation_count) *
                           (32.0L + 8.0L * static_cast<long double>(population_size) *
                                        (1.0L + (with_population_genes ? static_cast<long double>(n) : 0.0L))),
                       "reading " + std::to_string(completed) + " generations of " + std::to_string(population_size) +
                           " genomes");
    contents.fitness.reserve(static_cast<std::size_t>(generation_count));
    if (with_population_genes) contents.genes.reserve(static_cast<std::size_t>(generation_count));
    hsize_t generation = 0;
    for (std::size_t k = 0; k < segments.generations.size() && generation < generation_count; ++k) {
      if (segments.generations[k] == 0) continue;
      const std::filesystem::path segment_file_path = segment_path_of(path, static_cast<std::int64_t>(k));
      if (!std::filesystem::is_regular_file(segment_file_path, error)) {
        throw StorageError("segment '" + segment_file_path.string() + "' is missing (a run file is RUN.h5 with its "
                           "directory RUN.h5.segments)");
      }
      h5::File segment;
      try {
        segment = h5::h5f_open(segment_file_path.string(), H5F_ACC_RDONLY);
      } catch (const StorageError& open_error) {
        throw StorageError("HDF5 cannot open segment '" + segment_file_path.string() + "': " + open_error.what());
      }
      const hsize_t rows = std::min(static_cast<hsize_t>(segments.generations[k]), generation_count - generation);
      const std::string where = segment_file_path.filename().string() + ":";
      const std::string fitness_path = where + "/generations/fitness";
      const h5::Group segment_generations = h5::h5g_open2(segment.id(), generations_group_name);
      const h5::Dataset fitness = h5::h5d_open2(segment_generations.id(), "fitness");
      checked_dims(fitness.id(), fitness_path, {population_size}, rows);
      // Only the listed rows: a dataset may hold more (resized, or written past the last commit).
      std::vector<double> fitness_values(static_cast<std::size_t>(rows) * p);
      if (!fitness_values.empty()) read_leading_rows(fitness.id(), fitness_path, {rows, population_size}, fitness_values.data());
      for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) {
        contents.fitness.emplace_back(fitness_values.begin() + static_cast<std::ptrdiff_t>(r * p),
                                      fitness_values.begin() + static_cast<std::ptrdiff_t>((r + 1) * p));
      }
      const std::string genes_path = where + "/generations/genes";
      const h5::Dataset genes = h5::h5d_open2(segment_generations.id(), "genes");
      checked_dims(genes.id(), genes_path, {population_size, n}, rows);
      if (with_population_genes) {
        std::vector<double> gene_values(static_cast<std::size_t>(rows) * p * gene_count);
        if (!gene_values.empty()) read_leading_rows(genes.id(), genes_path, {rows, population_size, n}, gene_values.data());
        for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) {
          std::vector<Eigen::VectorXd>& row = contents.genes.emplace_back(p, Eigen::VectorXd(static_cast<Eigen::Index>(gene_count)));
          for (std::size_t i = 0; i < p; ++i) {
            const double* values = gene_values.data() + (r * p + i) * gene_count;
            for (std::size_t j = 0; j < gene_count; ++j) row[i][static_cast<Eigen::Index>(j)] = values[j];
          }
        }
      }
      read_segment_task_results(segment_generations.id(), where, rows, population_size, contents);
      generation += rows;
      if (options.progress) options.progress(static_cast<std::int64_t>(generation), completed);
    }
    if (h5::h5l_exists(root, best_group_name)) {
      const h5::Group best = h5::h5g_open2(root, best_group_name);
      contents.best_genome_id = read_int64_attribute(best.id(), "genome_id");
      contents.best_generation = read_int64_attribute(best.id(), "generation");
      contents.best_fitness = read_double_attribute(best.id(), "fitness");
      if (h5::h5a_exists(best.id(), "validation_fitness")) {
        contents.best_validation_fitness = read_double_attribute(best.id(), "validation_fitness");
      }
      const std::string best_genes_path = "/" + best_group_name + "/genes";
      const h5::Dataset best_genes = h5::h5d_open2(best.id(), "genes");
      checked_dims(best_genes.id(), best_genes_path, {}, n);
      contents.best_genes.resize(static_cast<Eigen::Index>(n));
      if (n > 0) {
        h5::h5d_read(best_genes.id(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, contents.best_genes.data(), best_genes_path);
      }
    }
    if (h5::h5l_exists(root, checkpoint_group_name)) {
      const h5::Group checkpoint = h5::h5g_open2(root, checkpoint_group_name);
      contents.has_checkpoint = true;
      contents.checkpoint_generation = read_int64_attribute(checkpoint.id(), "completed_generations");
    }
  } catch (const StorageError& read_error) {
    const std::string message = read_error.what();
    // Errors raised through `failure` already carry the path.
    if (message.rfind("cannot read run file", 0) == 0) throw;
    throw failure(message);
  }
  return contents;
}

}  // namespace metaevo
