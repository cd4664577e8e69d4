#include "metaevo/core/random.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/text_oarchive.hpp>
#include <cmath>
#include <set>
#include <sstream>
#include <vector>

namespace metaevo {
namespace {

std::vector<std::uint64_t> draws(RandomStream stream, int count) {
  std::vector<std::uint64_t> values;
  for (int i = 0; i < count; ++i) values.push_back(stream.next_u64());
  return values;
}

TEST(RandomStreamTest, Mix64MatchesSplitMix64ReferenceValues) {
  // SplitMix64 with state 0: the first outputs are mix64(gamma), mix64(2 gamma), ...
  constexpr std::uint64_t gamma = 0x9e3779b97f4a7c15ULL;
  EXPECT_EQ(mix64(gamma), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(mix64(2 * gamma), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(mix64(0), 0u);
  // The documented definition: value i of a stream is mix64(key + i * gamma), counting from 1.
  RandomStream stream(12345);
  EXPECT_EQ(stream.next_u64(), mix64(12345 + gamma));
  EXPECT_EQ(stream.next_u64(), mix64(12345 + 2 * gamma));
  EXPECT_EQ(stream.counter(), 2u);
}

TEST(RandomStreamTest, SameKeyGivesSameDraws) {
  const RandomStream a(7, StreamPurpose::mutation, {3, 11});
  const RandomStream b(7, StreamPurpose::mutation, {3, 11});
  EXPECT_EQ(a.key(), b.key());
  EXPECT_EQ(draws(a, 100), draws(b, 100));
  RandomStream c(7, StreamPurpose::mutation, {3, 11});
  RandomStream d(7, StreamPurpose::mutation, {3, 11});
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(c.uniform(), d.uniform());
    EXPECT_EQ(c.normal(), d.normal());
    EXPECT_EQ(c.below(13), d.below(13));
  }
}

TEST(RandomStreamTest, DifferentSeedsPurposesAndPathsGiveDifferentStreams) {
  std::set<std::uint64_t> keys;
  std::set<std::uint64_t> first_draws;
  const std::vector<RandomStream> streams{
      RandomStream(1, StreamPurpose::mutation, {3, 11}),   RandomStream(2, StreamPurpose::mutation, {3, 11}),
      RandomStream(1, StreamPurpose::crossover, {3, 11}),  RandomStream(1, StreamPurpose::selection, {3, 11}),
      RandomStream(1, StreamPurpose::mutation, {11, 3}),   RandomStream(1, StreamPurpose::mutation, {3, 12}),
      RandomStream(1, StreamPurpose::mutation, {3}),       RandomStream(1, StreamPurpose::mutation, {3, 11, 0}),
      RandomStream(1, StreamPurpose::mutation, {}),        RandomStream(1, StreamPurpose::mutation, {0}),
      RandomStream(1, StreamPurpose::task_sample, {3, 11}), RandomStream(0, StreamPurpose::test, {}),
  };
  for (const RandomStream& stream : streams) {
    keys.insert(stream.key());
    first_draws.insert(draws(stream, 1).front());
  }
  EXPECT_EQ(keys.size(), streams.size());
  EXPECT_EQ(first_draws.size(), streams.size());
}

TEST(RandomStreamTest, UniformIsInUnitIntervalWithMeanOneHalf) {
  RandomStream stream(42, StreamPurpose::test, {1});
  constexpr int count = 100000;
  double sum = 0.0;
  double sum_squares = 0.0;
  int low_half = 0;
  for (int i = 0; i < count; ++i) {
    const double u = stream.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_squares += u * u;
    if (u < 0.5) ++low_half;
  }
  const double mean = sum / count;
  // Standard error of the mean is sqrt(1/12 / 1e5) ~ 9e-4; allow 5 of them.
  EXPECT_NEAR(mean, 0.5, 5e-3);
  EXPECT_NEAR(sum_squares / count - mean * mean, 1.0 / 12.0, 3e-3);
  EXPECT_NEAR(low_half, count / 2, 800);
  for (int i = 0; i < 1000; ++i) {
    const double u = stream.uniform(-2.0, 3.0);
    ASSERT_GE(u, -2.0);
    ASSERT_LT(u, 3.0);
  }
}

TEST(RandomStreamTest, NormalHasMeanZeroAndVarianceOne) {
  RandomStream stream(42, StreamPurpose::test, {2});
  constexpr int count = 100000;
  double sum = 0.0;
  double sum_squares = 0.0;
  double sum_fourth = 0.0;
  int beyond_two_sigma = 0;
  for (int i = 0; i < count; ++i) {
    const double z = stream.normal();
    ASSERT_TRUE(std::isfinite(z));
    sum += z;
    sum_squares += z * z;
    sum_fourth += z * z * z * z;
    if (std::abs(z) > 1.959964) ++beyond_two_sigma;
  }
  const double mean = sum / count;
  EXPECT_NEAR(mean, 0.0, 0.015);                                  // SE 3.2e-3
  EXPECT_NEAR(sum_squares / count - mean * mean, 1.0, 0.03);      // SE 4.5e-3
  EXPECT_NEAR(sum_fourth / count, 3.0, 0.15);                     // Gaussian kurtosis
  EXPECT_NEAR(static_cast<double>(beyond_two_sigma) / count, 0.05, 0.005);
  // Box-Muller without caching costs exactly two draws.
  RandomStream counted(1);
  counted.normal();
  EXPECT_EQ(counted.counter(), 2u);
}

TEST(RandomStreamTest, FillNormalHasMeanZeroVarianceOneAndIsKeyed) {
  RandomStream stream(42, StreamPurpose::test, {4});
  constexpr int count = 100001;  // odd: the last pair's second value is dropped
  std::vector<double> z(count);
  stream.fill_normal(z.data(), z.size());
  double sum = 0.0, sum_squares = 0.0, sum_fourth = 0.0, lag_product = 0.0;
  int beyond_two_sigma = 0;
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(std::isfinite(z[i]));
    sum += z[i];
    sum_squares += z[i] * z[i];
    sum_fourth += z[i] * z[i] * z[i] * z[i];
    if (i > 0) lag_product += z[i] * z[i - 1];
    if (std::abs(z[i]) > 1.959964) ++beyond_two_sigma;
  }
  const double mean = sum / count;
  EXPECT_NEAR(mean, 0.0, 0.015);
  EXPECT_NEAR(sum_squares / count - mean * mean, 1.0, 0.03);
  EXPECT_NEAR(sum_fourth / count, 3.0, 0.15);
  EXPECT_NEAR(lag_product / count, 0.0, 0.015);  // the two values of a pair are uncorrelated
  EXPECT_NEAR(static_cast<double>(beyond_two_sigma) / count, 0.05, 0.005);
  // Same key, same values; the first values do not depend on how many follow.
  RandomStream again(42, StreamPurpose::test, {4});
  std::vector<double> prefix(10);
  again.fill_normal(prefix.data(), prefix.size());
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), z.begin()));
}

TEST(RandomStreamTest, BelowIsInRangeAndRoughlyUniform) {
  RandomStream stream(9, StreamPurpose::test, {3});
  constexpr int buckets = 7;
  constexpr int count = 70000;
  std::vector<int> histogram(buckets, 0);
  for (int i = 0; i < count; ++i) {
    const std::uint64_t value = stream.below(buckets);
    ASSERT_LT(value, static_cast<std::uint64_t>(buckets));
    ++histogram[value];
  }
  double chi_square = 0.0;
  for (int observed : histogram) {
    const double expected = static_cast<double>(count) / buckets;
    chi_square += (observed - expected) * (observed - expected) / expected;
  }
  // 6 degrees of freedom: P(chi2 > 22.5) ~ 0.001.
  EXPECT_LT(chi_square, 22.5);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(stream.below(1), 0u);
  // A bound near 2^64 still stays in range (rejection path).
  const std::uint64_t huge = (std::uint64_t{1} << 63) + 12345;
  for (int i = 0; i < 100; ++i) EXPECT_LT(stream.below(huge), huge);
}

TEST(RandomStreamTest, BernoulliMatchesItsProbability) {
  RandomStream stream(5, StreamPurpose::test, {4});
  int hits = 0;
  for (int i = 0; i < 20000; ++i) hits += stream.bernoulli(0.25) ? 1 : 0;
  EXPECT_NEAR(hits, 5000, 300);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(stream.bernoulli(0.0));
    EXPECT_TRUE(stream.bernoulli(1.0));
  }
}

template <class OutputArchive, class InputArchive>
void expect_serialized_stream_continues() {
  RandomStream original(77, StreamPurpose::task_sample, {5, 6, 7});
  for (int i = 0; i < 37; ++i) original.normal();
  std::stringstream buffer;
  {
    OutputArchive output(buffer);
    output << original;
  }
  RandomStream restored(0);
  {
    InputArchive input(buffer);
    input >> restored;
  }
  EXPECT_EQ(restored.key(), original.key());
  EXPECT_EQ(restored.counter(), original.counter());
  EXPECT_EQ(draws(restored, 50), draws(original, 50));
}

TEST(RandomStreamTest, SerializedStreamContinuesIdentically) {
  expect_serialized_stream_continues<boost::archive::binary_oarchive, boost::archive::binary_iarchive>();
  expect_serialized_stream_continues<boost::archive::text_oarchive, boost::archive::text_iarchive>();
}

}  // namespace
}  // namespace metaevo
