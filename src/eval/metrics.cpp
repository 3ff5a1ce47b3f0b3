#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "octet/status.h"

namespace octet {

namespace {

struct MetricEntry {
  MetricKind kind;
  const char* name;
};
constexpr MetricEntry kMetrics[] = {
    {MetricKind::kTop1, "top1"},
    {MetricKind::kTop5, "top5"},
    {MetricKind::kCtcCharAccuracy, "ctc-char-accuracy"},
    {MetricKind::kCtcLineAccuracy, "ctc-line-accuracy"},
    {MetricKind::kSqnr, "sqnr"},
    {MetricKind::kCosine, "cosine"},
    {MetricKind::kTop1Agreement, "top1-agreement"},
    {MetricKind::kTextDetHmean, "text-det-hmean"},
};

constexpr char32_t kSpace = U' ';

// Highest code point and the start of the UTF-16 surrogate range, which UTF-8 must not encode.
constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr char32_t kSurrogateFirst = 0xD800;
constexpr char32_t kSurrogateLast = 0xDFFF;

std::string joined_metric_names() {
  std::string names;
  for (const auto& entry : kMetrics) names += (names.empty() ? "" : ", ") + std::string(entry.name);
  return names;
}

}  // namespace

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> result;
    for (const auto& entry : kMetrics) result.push_back(entry.name);
    return result;
  }();
  return names;
}

MetricKind parse_metric_name(const std::string& name) {
  for (const auto& entry : kMetrics)
    if (name == entry.name) return entry.kind;
  throw Error(concat("--metric: unknown metric '", name, "' (metrics: ", joined_metric_names(), ")"));
}

std::string metric_name(MetricKind kind) {
  for (const auto& entry : kMetrics)
    if (entry.kind == kind) return entry.name;
  return "unknown";
}

bool metric_needs_dictionary(MetricKind kind) {
  return kind == MetricKind::kCtcCharAccuracy || kind == MetricKind::kCtcLineAccuracy;
}

bool metric_needs_reference(MetricKind kind) {
  return kind == MetricKind::kSqnr || kind == MetricKind::kCosine || kind == MetricKind::kTop1Agreement;
}

// ---- Text ----------------------------------------------------------------------------------------

std::u32string utf8_to_code_points(const std::string& text, const std::string& what) {
  std::u32string result;
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int continuation = 0;
    char32_t code_point = 0;
    char32_t smallest = 0;  // overlong encodings are invalid
    if (lead < 0x80) {
      code_point = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      continuation = 1, code_point = lead & 0x1F, smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      continuation = 2, code_point = lead & 0x0F, smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      continuation = 3, code_point = lead & 0x07, smallest = 0x10000;
    } else {
      throw Error(concat(what, ": invalid UTF-8 at byte ", i));
    }
    check(i + continuation < text.size(), what, ": truncated UTF-8 at byte ", i);
    for (int k = 1; k <= continuation; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      check((next & 0xC0) == 0x80, what, ": invalid UTF-8 at byte ", i + k);
      code_point = (code_point << 6) | (next & 0x3F);
    }
    check(code_point >= smallest && code_point <= kMaxCodePoint &&
              !(code_point >= kSurrogateFirst && code_point <= kSurrogateLast),
          what, ": invalid UTF-8 at byte ", i);
    result.push_back(code_point);
    i += continuation + 1;
  }
  return result;
}

std::string code_points_to_utf8(const std::u32string& text) {
  std::string result;
  for (const char32_t c : text) {
    if (c < 0x80) {
      result += static_cast<char>(c);
    } else if (c < 0x800) {
      result += static_cast<char>(0xC0 | (c >> 6));
      result += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      result += static_cast<char>(0xE0 | (c >> 12));
      result += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      result += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      result += static_cast<char>(0xF0 | (c >> 18));
      result += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      result += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      result += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return result;
}

int64_t edit_distance(const std::u32string& a, const std::u32string& b) {
  // One row of the dynamic-programming table: previous[j] = distance(a[0..i), b[0..j)).
  std::vector<int64_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::u32string remove_spaces(const std::u32string& text) {
  std::u32string result;
  for (const char32_t c : text)
    if (c != kSpace) result.push_back(c);
  return result;
}

double character_accuracy(const std::u32string& prediction, const std::u32string& label) {
  const std::u32string predicted = remove_spaces(prediction);
  const std::u32string expected = remove_spaces(label);
  const double distance = static_cast<double>(edit_distance(predicted, expected));
  const double length = static_cast<double>(std::max<size_t>(expected.size(), 1));
  return std::max(0.0, 1.0 - distance / length);
}

double line_accuracy(const std::u32string& prediction, const std::u32string& label) {
  return remove_spaces(prediction) == remove_spaces(label) ? 1.0 : 0.0;
}

CtcDictionary::CtcDictionary(std::vector<std::u32string> entries, std::string source)
    : entries_(std::move(entries)), source_(std::move(source)) {}

CtcDictionary CtcDictionary::from_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  check(file.good(), path, ": cannot open the dictionary file");
  std::vector<std::u32string> entries;
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    entries.push_back(utf8_to_code_points(line, concat(path, ":", line_number)));
  }
  check(!entries.empty(), path, ": the dictionary is empty");
  return CtcDictionary(std::move(entries), path);
}

std::u32string CtcDictionary::decode(std::span<const int64_t> classes, int64_t class_count) const {
  const auto entry_count = static_cast<int64_t>(entries_.size());
  // blank + entries, optionally + space (PaddleOCR's use_space_char).
  const bool has_space_class = class_count == entry_count + 2;
  check(has_space_class || class_count == entry_count + 1, source_, ": the model has ", class_count,
        " classes but the dictionary has ", entry_count, " entries (expected ", entry_count + 1, " or ", entry_count + 2,
        " classes: blank + entries [+ space])");
  std::u32string text;
  for (const int64_t index : classes) {
    check(index > kCtcBlankClass && index < class_count, "CTC class ", index, " is out of range 1..", class_count - 1);
    if (has_space_class && index == class_count - 1)
      text.push_back(kSpace);
    else
      text += entries_[static_cast<size_t>(index - 1)];
  }
  return text;
}

std::vector<int64_t> ctc_greedy_decode(const Tensor& scores) {
  const bool batched = scores.rank() == 3;
  check((batched && scores.dim(0) == 1) || scores.rank() == 2, "CTC decoding needs an output of shape [1, T, C] or [T, C], got ",
        shape_to_string(scores.shape()));
  check(scores.dtype() == DataType::kFloat, "CTC decoding needs a float output, got ", dtype_name(scores.dtype()));
  const int64_t steps = scores.dim(scores.rank() - 2);
  const int64_t classes = scores.dim(scores.rank() - 1);
  check(classes > 0, "CTC decoding: the output has no classes");
  const float* data = scores.data<float>();
  std::vector<int64_t> decoded;
  int64_t previous = -1;
  for (int64_t t = 0; t < steps; ++t) {
    const float* row = data + t * classes;
    const int64_t best = std::max_element(row, row + classes) - row;
    if (best != previous && best != kCtcBlankClass) decoded.push_back(best);
    previous = best;
  }
  return decoded;
}

// ---- Classification ------------------------------------------------------------------------------

bool top_k_contains(std::span<const float> scores, int64_t label, int64_t k) {
  const auto count = static_cast<int64_t>(scores.size());
  check(label >= 0 && label < count, "label ", label, " is out of range for a model with ", count, " classes");
  const float target = scores[static_cast<size_t>(label)];
  // Classes ranked above the label: higher scores, and equal scores at lower indices.
  int64_t ranked_above = 0;
  for (int64_t c = 0; c < count; ++c) {
    const float score = scores[static_cast<size_t>(c)];
    if (score > target || (score == target && c < label)) ++ranked_above;
  }
  return ranked_above < k;
}

std::span<const float> class_scores(const Tensor& output) {
  const bool vector = output.rank() == 1;
  const bool batch_of_one = output.rank() == 2 && output.dim(0) == 1;
  check(vector || batch_of_one, "classification metrics need an output of shape [1, C] or [C], got ",
        shape_to_string(output.shape()));
  check(output.dtype() == DataType::kFloat, "classification metrics need a float output, got ", dtype_name(output.dtype()));
  return {output.data<float>(), static_cast<size_t>(output.element_count())};
}

// ---- Comparison with a reference -----------------------------------------------------------------

namespace {
void check_comparable(const Tensor& reference, const Tensor& output) {
  check(reference.shape() == output.shape(), "the output has shape ", shape_to_string(output.shape()),
        " but the reference output has shape ", shape_to_string(reference.shape()));
  check(reference.dtype() == DataType::kFloat && output.dtype() == DataType::kFloat,
        "reference metrics need float outputs, got ", dtype_name(output.dtype()), " and ", dtype_name(reference.dtype()));
}
}  // namespace

void ReferenceSums::add(const Tensor& reference, const Tensor& output) {
  check_comparable(reference, output);
  const float* ref = reference.data<float>();
  const float* out = output.data<float>();
  for (int64_t i = 0; i < reference.element_count(); ++i) {
    const double r = ref[i], o = out[i];
    reference_energy += r * r;
    error_energy += (r - o) * (r - o);
    output_energy += o * o;
    dot += r * o;
  }
}

void ReferenceSums::add(const ReferenceSums& other) {
  reference_energy += other.reference_energy;
  error_energy += other.error_energy;
  output_energy += other.output_energy;
  dot += other.dot;
}

double sqnr_db(const ReferenceSums& sums) {
  if (sums.error_energy == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(sums.reference_energy / sums.error_energy);
}

double cosine_similarity(const ReferenceSums& sums) {
  const bool reference_zero = sums.reference_energy == 0, output_zero = sums.output_energy == 0;
  if (reference_zero && output_zero) return 1.0;
  if (reference_zero || output_zero) return 0.0;
  return sums.dot / std::sqrt(sums.reference_energy * sums.output_energy);
}

Agreement top1_agreement(const Tensor& reference, const Tensor& output) {
  check_comparable(reference, output);
  Agreement agreement;
  const int64_t width = reference.rank() == 0 ? 1 : reference.dim(reference.rank() - 1);
  if (width == 0 || reference.element_count() == 0) return agreement;
  const float* ref = reference.data<float>();
  const float* out = output.data<float>();
  for (int64_t begin = 0; begin < reference.element_count(); begin += width) {
    const int64_t ref_best = std::max_element(ref + begin, ref + begin + width) - ref;
    const int64_t out_best = std::max_element(out + begin, out + begin + width) - out;
    agreement.agreeing += ref_best == out_best ? 1 : 0;
    ++agreement.rows;
  }
  return agreement;
}

}  // namespace octet
