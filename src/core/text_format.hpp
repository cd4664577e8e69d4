#pragma once
// Text helpers for messages and reports, shared by the library's sources (not a public header).
#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
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

/// Levenshtein distance (insertions, deletions, substitutions).
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> previous(b.size() + 1);
  std::vector<std::size_t> current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

/// " (did you mean population_size?)" for a near miss, else "".
inline std::string suggestion(std::string_view key, const std::vector<std::string>& allowed) {
  std::size_t best_distance = 3;  // more than two edits away is not a typo
  std::string best;
  for (const std::string& candidate : allowed) {
    const std::size_t distance = edit_distance(key, candidate);
    if (distance < best_distance && distance < key.size()) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best.empty() ? std::string() : " (did you mean " + best + "?)";
}

}  // namespace metaevo::text
