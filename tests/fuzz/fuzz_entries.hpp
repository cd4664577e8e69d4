#pragma once
// The entry functions of the fuzz targets (tests/fuzz/fuzz_*.cpp), shared with the regression replay
// of the ordinary suite (tests/fuzz_replay_test.cpp): each feeds one input to a loader of untrusted
// input. An input the loader rejects with metaevo::Error (ConfigError, StorageError,
// EvaluationError) is handled; anything else escapes (another exception) or crashes, and is a finding.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace metaevo::fuzz {

using Bytes = std::span<const std::uint8_t>;

/// The TOML config reader: the bytes as a config file's text (parse_config).
void config(Bytes input);
/// The JSON rule import: the bytes as an exported rule (update_rule_from_json). A rule it accepts
/// must export (to_json) to a document that imports again.
void exported_rule(Bytes input);
/// The run-file reader: the bytes as RUN.h5 (no segments), read as `inspect`/`export` read it
/// (read_run_file with and without the population's genes) and as `resume` opens it.
void run_file(Bytes input);
/// The run-file reader on a valid run (root and segments) with a structural change chosen by the
/// bytes: a dataset or attribute rewritten with other dimensions or values, or removed (decoding in
/// fuzz_entries.cpp). seed_run is a valid run file whose segments lie next to it.
void run_file_structure(Bytes input, const char* seed_run);
/// The data-file loader: byte 0 picks CSV or HDF5, byte 1 the target kind and the CSV label
/// column; the rest is the file (read_dataset).
void dataset(Bytes input);
/// The command task's result parser: the bytes as the program's stdout.
void command_result(Bytes input);

/// Runs one of the above by name ("config", ...; run_file_structure needs seed_run). False for an
/// unknown name.
bool run_entry(std::string_view name, Bytes input, const char* seed_run = nullptr);

}  // namespace metaevo::fuzz
