#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmegress::server::testing {

// One sample line of the Prometheus text format: its name, its labels (the
// order in which they were written carries no meaning) and its value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The samples of an exposition, in order. A line that is neither a comment
// nor a well-formed sample makes the result empty.
std::optional<std::vector<Sample>> parse_exposition(std::string_view text);

// The value of the sample with exactly this name and these labels.
std::optional<double> sample_value(std::string_view text, std::string_view name,
                                   const std::map<std::string, std::string>& labels = {});

}  // namespace asmegress::server::testing
