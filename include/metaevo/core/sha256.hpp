#pragma once
// SHA-256 (FIPS 180-4) of bytes and of files: the fingerprint a run file records for every data file
// (and plugin) it depends on, so a result can be traced to the exact bytes it was computed from.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace metaevo {

/// An incremental SHA-256: update() any number of times, then hex_digest() once.
class Sha256 {
 public:
  Sha256() noexcept;
  void update(std::span<const std::byte> bytes) noexcept;
  void update(std::string_view text) noexcept { update(std::as_bytes(std::span(text.data(), text.size()))); }
  /// The digest as 64 lowercase hex digits. Finishes the hash: call once.
  std::string hex_digest();

 private:
  void compress(const std::uint8_t* block) noexcept;

  std::array<std::uint32_t, 8> state_{};
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

/// SHA-256 of `text` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view text);
/// SHA-256 of a file's bytes as 64 lowercase hex digits; ConfigError naming the path when it cannot
/// be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace metaevo
