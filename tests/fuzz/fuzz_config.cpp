// libFuzzer target: metaevo::fuzz::config (fuzz_entries.hpp). Run by tests/fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>

#include "fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  metaevo::fuzz::config({data, size});
  return 0;
}
