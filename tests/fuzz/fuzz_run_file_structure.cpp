// libFuzzer target: metaevo::fuzz::run_file_structure (fuzz_entries.hpp) on the run of
// tests/fuzz/seed_run/ (or $METAEVO_FUZZ_SEED_RUN). Run by tests/fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char* const seed_run = [] {
    const char* chosen = std::getenv("METAEVO_FUZZ_SEED_RUN");
    return chosen != nullptr ? chosen : METAEVO_FUZZ_SEED_RUN;
  }();
  metaevo::fuzz::run_file_structure({data, size}, seed_run);
  return 0;
}
