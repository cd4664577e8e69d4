// libFuzzer target: metaevo::fuzz::exported_rule (fuzz_entries.hpp). Run by tests/fuzz/run_fuzzers.sh.
#include <cstddef>
#include <cstdint>

#include "fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  metaevo::fuzz::exported_rule({data, size});
  return 0;
}
