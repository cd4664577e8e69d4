#pragma once
// Private to the library: a short text of a JSON value for an error message.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace metaevo {

/// value.dump(), cut to max_chars ("..." at the end), for a value with at most 64 nodes nested at
/// most 8 deep; a larger array or object is named with its size instead. nlohmann's dump() recurses
/// once per nesting level: on a value from outside (a program's 1 MB of "[[[[...") it would overflow
/// the stack.
inline std::string json_excerpt(const nlohmann::json& value, std::size_t max_chars) {
  if (value.is_structured()) {
    std::vector<std::pair<const nlohmann::json*, int>> pending{{&value, 0}};
    int nodes = 0;
    bool small = true;
    while (!pending.empty() && small) {
      const auto [node, depth] = pending.back();
      pending.pop_back();
      small = ++nodes <= 64 && depth <= 8;
      if (small && node->is_structured()) {
        for (const nlohmann::json& child : *node) pending.emplace_back(&child, depth + 1);
      }
    }
    if (!small) {
      return (value.is_array() ? "an array of " + std::to_string(value.size()) + " elements"
                               : "an object of " + std::to_string(value.size()) + " members") +
             " (too large to show)";
    }
  }
  std::string text = value.dump();
  if (text.size() > max_chars) text = text.substr(0, max_chars >= 3 ? max_chars - 3 : 0) + "...";
  return text;
}

}  // namespace metaevo
