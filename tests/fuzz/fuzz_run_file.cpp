// libFuzzer target: metaevo::fuzz::run_file (fuzz_entries.hpp). Run by tests/fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>

#include "fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  metaevo::fuzz::run_file({data, size});
  return 0;
}
