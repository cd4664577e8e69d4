#include "metaevo/runtime/generation_log.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <vector>

#include "metaevo/core/error.hpp"

namespace metaevo {
namespace {

nlohmann::json number_or_null(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

/// Now in UTC, ISO 8601 to the second: "2025-03-01T14:05:09Z".
std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string reason(const std::string& what, const std::filesystem::path& path) {
  return "cannot " + what + " the JSON log '" + path.string() + "': " + std::strerror(errno);
}

}  // namespace

std::string generation_json(const GenerationRecord& record) {
  // Insertion order, so a line reads generation first.
  nlohmann::ordered_json line;
  line["generation"] = record.generation;
  line["island"] = record.island;
  line["session"] = record.session;
  line["best"] = number_or_null(record.best_so_far);
  line["generation_best"] = number_or_null(record.best_fitness);
  line["median"] = number_or_null(record.median_fitness);
  line["validation_fitness"] = number_or_null(record.generation_validation_best);
  line["validated_best"] = number_or_null(record.validation_best);
  line["evaluations"] = record.evaluations;
  line["failed"] = record.failed;
  line["diverged"] = record.diverged;
  line["evaluations_per_second"] = number_or_null(record.evaluations_per_second);
  line["elapsed_seconds"] = number_or_null(record.elapsed_seconds);
  line["eta_seconds"] = number_or_null(record.eta_seconds);
  line["timestamp"] = utc_timestamp();
  return line.dump();
}

GenerationLog::GenerationLog(std::filesystem::path path, std::ios::openmode mode) : path_(std::move(path)) {
  errno = 0;
  out_.open(path_, mode);
  if (!out_) throw StorageError(reason("write", path_));
}

GenerationLog GenerationLog::create(const std::filesystem::path& path) {
  return GenerationLog(path, std::ios::out | std::ios::trunc);
}

GenerationLog GenerationLog::resume(const std::filesystem::path& path, std::int64_t checkpoint_generations) {
  std::error_code missing;
  if (!std::filesystem::exists(path, missing)) return create(path);
  std::vector<std::string> kept;
  {
    errno = 0;
    std::ifstream in(path);
    if (!in) throw StorageError(reason("read", path));
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!record.is_object()) continue;  // a line cut short by a kill
      const auto generation = record.find("generation");
      if (generation == record.end() || !generation->is_number_integer()) continue;
      if (generation->get<std::int64_t>() < checkpoint_generations) kept.push_back(line);
    }
  }
  // Rewritten through a temporary file, so a failure leaves the old log whole.
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    errno = 0;
    std::ofstream out(temporary, std::ios::out | std::ios::trunc);
    for (const std::string& line : kept) out << line << '\n';
    out.flush();
    if (!out) throw StorageError(reason("write", temporary));
  }
  std::error_code renamed;
  std::filesystem::rename(temporary, path, renamed);
  if (renamed) {
    throw StorageError("cannot replace the JSON log '" + path.string() + "': " + renamed.message());
  }
  return GenerationLog(path, std::ios::out | std::ios::app);
}

void GenerationLog::append(const GenerationRecord& record) {
  errno = 0;
  out_ << generation_json(record) << '\n';
  for (const GenerationRecord& island : record.islands) out_ << generation_json(island) << '\n';
  out_.flush();  // per generation: `tail -f` and a kill see whole generations
  if (!out_) throw StorageError(reason("write", path_));
}

}  // namespace metaevo
