#include "metaevo/core/random.hpp"

#include <cmath>
#include <numbers>

namespace metaevo {

namespace {
constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;
}

std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t stream_key(std::uint64_t seed, StreamPurpose purpose,
                         std::initializer_list<std::uint64_t> path) noexcept {
  // Chain the mix so (a, b) and (b, a) give different keys; the length is mixed in last so a path
  // is never a prefix collision of a longer one.
  std::uint64_t key = mix64(seed + golden_gamma);
  key = mix64(key ^ (static_cast<std::uint64_t>(purpose) + golden_gamma));
  for (std::uint64_t element : path) key = mix64(key ^ (element + golden_gamma));
  return mix64(key ^ path.size());
}

std::uint64_t RandomStream::next_u64() noexcept {
  ++counter_;
  return mix64(key_ + counter_ * golden_gamma);
}

double RandomStream::uniform() noexcept {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

std::uint64_t RandomStream::below(std::uint64_t n) noexcept {
  // Lemire-free plain rejection: draws at or above the largest multiple of n are redrawn.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  std::uint64_t draw = next_u64();
  while (draw >= limit) draw = next_u64();
  return draw % n;
}

double RandomStream::normal() noexcept {
  const double u1 = 1.0 - uniform();  // (0, 1], so the log is finite
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void RandomStream::fill_normal(double* out, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; i += 2) {
    // A uniform point in the unit disc (rejection: about 21% of pairs are redrawn), then scaled.
    double u = 0.0, v = 0.0, s = 0.0;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double scale = std::sqrt(-2.0 * std::log(s) / s);
    out[i] = u * scale;
    if (i + 1 < count) out[i + 1] = v * scale;
  }
}

}  // namespace metaevo
