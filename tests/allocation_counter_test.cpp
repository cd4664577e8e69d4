// The allocation counter of allocation_counter.hpp, and a check that it sees the allocations it must
// (so a test that finds none means something).
#include "allocation_counter.hpp"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define METAEVO_COUNT_ALLOCATIONS 0
#else
#define METAEVO_COUNT_ALLOCATIONS 1
#endif

namespace {
// Plain thread-locals of the executable: reading them needs no allocation (no __tls_get_addr).
thread_local bool counting = false;
thread_local long allocations = 0;
}  // namespace

#if METAEVO_COUNT_ALLOCATIONS
// glibc's own entry points, which its malloc family forwards to; the definitions below take the
// place of malloc, calloc and realloc for the whole test process and only count what this thread
// asks for while counting. free and the aligned allocators stay glibc's (the same heap).
extern "C" {
void* __libc_malloc(std::size_t size) noexcept;
void* __libc_calloc(std::size_t count, std::size_t size) noexcept;
void* __libc_realloc(void* pointer, std::size_t size) noexcept;

void* malloc(std::size_t size) noexcept {
  if (counting) ++allocations;
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  if (counting) ++allocations;
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) noexcept {
  if (counting) ++allocations;
  return __libc_realloc(pointer, size);
}
}
#endif

namespace metaevo::testing_support {

bool allocation_counting_available() { return METAEVO_COUNT_ALLOCATIONS != 0; }

void start_counting_allocations() {
  allocations = 0;
  counting = true;
}

long stop_counting_allocations() {
  counting = false;
  return allocations;
}

}  // namespace metaevo::testing_support

namespace metaevo {
namespace {

using testing_support::allocation_counting_available;
using testing_support::start_counting_allocations;
using testing_support::stop_counting_allocations;

// Reads into a volatile, so the compiler cannot drop the allocations being counted.
void use(const double* data) {
  volatile double sink = data[0];
  (void)sink;
}

TEST(AllocationCounter, SeesEigenAndOperatorNewAllocationsAndNothingElse) {
  if (!allocation_counting_available()) GTEST_SKIP() << "no allocation counting under AddressSanitizer";
  Eigen::MatrixXd a = Eigen::MatrixXd::Ones(300, 8);
  Eigen::MatrixXd b = Eigen::MatrixXd::Ones(8, 16);
  Eigen::MatrixXd product(300, 16);

  start_counting_allocations();
  product.noalias() = a * b;  // into existing storage
  product.array() += 1.0;
  EXPECT_EQ(stop_counting_allocations(), 0);
  use(product.data());

  start_counting_allocations();
  const Eigen::MatrixXd fresh = a * b;  // a new matrix: Eigen's aligned malloc
  EXPECT_GE(stop_counting_allocations(), 1);
  use(fresh.data());

  start_counting_allocations();
  auto boxed = std::make_unique<std::vector<double>>(1000, 1.0);  // operator new, twice
  EXPECT_GE(stop_counting_allocations(), 2);
  use(boxed->data());
}

}  // namespace
}  // namespace metaevo
