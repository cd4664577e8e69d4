#pragma once
// Counts the heap allocations this thread makes between start and stop, to show that a hot path
// (an update rule's step) allocates nothing. allocation_counter_test.cpp interposes malloc, calloc
// and realloc in the test binary (Eigen and operator new both end there); under AddressSanitizer,
// which owns those functions, counting is not available and the tests that need it skip.
namespace metaevo::testing_support {

bool allocation_counting_available();
void start_counting_allocations();
/// Allocations since start_counting_allocations() on this thread.
long stop_counting_allocations();

}  // namespace metaevo::testing_support
