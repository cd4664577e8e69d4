#pragma once
// Text helpers for messages and reports, shared by the library's sources (not a public header).
#include <array>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace metaevo::text {

/// Shortest text that reads back as the same double: "0.001", "1e-08", "inf", "nan".
inline std::string format_number(double value) {
  std::array<char, 64> buffer{};  // the shortest form of any double has at most 24 characters
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

/// The items with `separator` between them.
inline std::string joined(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string text;
  for (const std::string& item : items) {
    if (!text.empty()) text += separator;
    text += item;
  }
  return text;
}

}  // namespace metaevo::text
