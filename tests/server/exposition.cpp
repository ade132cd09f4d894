#include "tests/server/exposition.h"

#include <cstdlib>

namespace asmegress::server::testing {

namespace {

bool parse_line(std::string_view line, Sample& sample) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample.name = std::string(line.substr(0, i));
  if (sample.name.empty()) return false;
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t equals = line.find('=', i);
      if (equals == std::string_view::npos || equals + 1 >= line.size() || line[equals + 1] != '"') {
        return false;
      }
      const std::string key(line.substr(i, equals - i));
      std::string value;
      i = equals + 2;
      for (; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] != '\\') {
          value += line[i];
          continue;
        }
        if (++i == line.size()) return false;
        value += line[i] == 'n' ? '\n' : line[i];
      }
      if (i == line.size()) return false;
      ++i;  // the closing quote
      if (!sample.labels.emplace(key, std::move(value)).second) return false;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i == line.size()) return false;
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return false;
  const std::string value(line.substr(i + 1));
  if (value == "+Inf" || value == "-Inf" || value == "Nan") {
    sample.value = 0;
    return true;
  }
  char* end = nullptr;
  sample.value = std::strtod(value.c_str(), &end);
  return end != value.c_str() && *end == '\0';
}

}  // namespace

std::optional<std::vector<Sample>> parse_exposition(std::string_view text) {
  std::vector<Sample> samples;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.empty() || line.front() == '#') continue;
    Sample sample;
    if (!parse_line(line, sample)) return std::nullopt;
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::optional<double> sample_value(std::string_view text, std::string_view name,
                                   const std::map<std::string, std::string>& labels) {
  const auto samples = parse_exposition(text);
  if (!samples) return std::nullopt;
  for (const Sample& sample : *samples) {
    if (sample.name == name && sample.labels == labels) return sample.value;
  }
  return std::nullopt;
}

}  // namespace asmegress::server::testing
