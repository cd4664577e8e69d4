#include "metaevo/core/sha256.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "metaevo/core/error.hpp"
#include "test_support.hpp"

namespace metaevo {
namespace {

using testing_support::TemporaryPath;

// Vectors from FIPS 180-4's examples and NIST's SHA-256 test set.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecewiseUpdatesMatchOneUpdate) {
  std::string text;
  for (int i = 0; i < 300; ++i) text.push_back(static_cast<char>('a' + i % 26));
  for (std::size_t split : {0, 1, 55, 56, 63, 64, 65, 128, 299}) {
    Sha256 hash;
    hash.update(std::string_view(text).substr(0, split));
    hash.update(std::string_view(text).substr(split));
    EXPECT_EQ(hash.hex_digest(), sha256_hex(text)) << "split at " << split;
  }
}

TEST(Sha256, FileMatchesItsBytesAndMissingFileIsAConfigError) {
  const TemporaryPath file(".bin");
  {
    std::ofstream out(file.path(), std::ios::binary);
    out << "abc";
  }
  EXPECT_EQ(sha256_file(file.path()), sha256_hex("abc"));
  EXPECT_THROW(sha256_file(file.path().string() + ".missing"), ConfigError);
}

}  // namespace
}  // namespace metaevo
