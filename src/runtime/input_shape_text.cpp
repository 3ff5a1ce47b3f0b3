#include "runtime/input_shape_text.h"

#include "octet/status.h"

namespace octet {
namespace {

// Dimensions longer than this many digits would overflow int64; far beyond any real tensor anyway.
constexpr size_t kMaxDimensionDigits = 18;

}  // namespace

Shape parse_dims(const std::string& text, const std::string& what) {
  const std::string expected = " (expected dimensions separated by 'x', e.g. 1x3x224x224)";
  check(!text.empty(), what, ": empty shape", expected);
  Shape dims;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('x', start);
    const std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    check(!part.empty() && part.size() <= kMaxDimensionDigits &&
              part.find_first_not_of("0123456789") == std::string::npos,
          what, ": bad dimension '", part, "' in '", text, "'", expected);
    dims.push_back(std::stoll(part));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  element_count(dims);  // rejects shapes whose element count overflows
  return dims;
}

std::map<std::string, Shape> parse_shape_assignments(const std::vector<std::string>& values,
                                                     const std::string& option) {
  std::map<std::string, Shape> shapes;
  for (const std::string& value : values) {
    const size_t equals = value.find('=');
    check(equals != std::string::npos && equals > 0, option, " '", value,
          "': expected NAME=DIMS, e.g. input=1x3x224x224");
    const std::string name = value.substr(0, equals);
    check(!shapes.count(name), option, ": input '", name, "' is given twice");
    shapes[name] = parse_dims(value.substr(equals + 1), concat(option, " '", value, "'"));
  }
  return shapes;
}

}  // namespace octet
