// The environment every test process sets for itself, so that build/tests/metaevo_tests behaves
// the same run directly as under ctest (tests/CMakeLists.txt, METAEVO_TEST_ENVIRONMENT).
#include <cstdlib>

namespace {

// Before main, hence before any test starts mpirun or the metaevo command (both inherit it): hwloc's
// X display probe waits 5 s for DNS on a machine whose host name does not resolve. An explicit
// value from the caller stays.
const bool hwloc_display_probe_skipped = [] { return ::setenv("HWLOC_COMPONENTS", "-gl", /*overwrite=*/0) == 0; }();

}  // namespace
