#pragma once
// Which kernel computes the float32 MLP tasks (precision = "float32") in this process.
#include <string_view>

namespace metaevo {

/// The kernel the float32 MLP tasks sampled from now on use in this process: "avx2-fma" (the loss
/// and gradient compiled a second time for AVX2 + FMA, chosen when the CPU has both, x86-64 builds
/// without METAEVO_NATIVE) or "generic" (the build's own flags: SSE2 on x86-64). The two give float32
/// results that differ by float rounding; float64 tasks never change. The environment variable
/// METAEVO_SIMD, read at the first call, chooses: "auto" (or unset: avx2-fma where available),
/// "generic" (bit-identical float32 results on every x86-64 CPU) or "avx2" (avx2-fma, an error where
/// unavailable). Throws ConfigError (metaevo/core/error.hpp) for another value. docs/configuration.md.
std::string_view float32_kernel();
/// Overrides METAEVO_SIMD from now on ("auto", "generic" or "avx2"; tests and benchmarks); throws
/// ConfigError for another value or for "avx2" where that kernel is unavailable.
void select_float32_kernel(std::string_view choice);

}  // namespace metaevo
