#include "eval/preprocess.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "octet/status.h"

namespace octet {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kChannels = 3;
constexpr const char* kSpecOption = "--preprocess";
constexpr const char* kKeepRatioPad = "keep-ratio-pad";
constexpr const char* kResizeForms = "resize=HxW[:keep-ratio-pad], resize=limit:L:M or resize=short:S";

// ImageNet statistics (in RGB order) and PaddleOCR's rec/cls normalization.
const std::vector<float> kImagenetMean{0.485f, 0.456f, 0.406f};
const std::vector<float> kImagenetStd{0.229f, 0.224f, 0.225f};
constexpr float kHalf = 0.5f;
constexpr float kPixelRange = 255;
constexpr int64_t kPpocrDetLimitSide = 960;
constexpr int64_t kPpocrDetMultiple = 32;
constexpr int64_t kImagenetShorterSide = 256;
constexpr int64_t kImagenetCrop = 224;

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

bool parse_positive_int(const std::string& text, int64_t& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value > 0;
}

bool parse_float(const std::string& text, float& value) {
  double parsed = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(parsed)) return false;
  value = static_cast<float>(parsed);
  return true;
}

// "48x320" -> (48, 320).
bool parse_size(const std::string& text, int64_t& height, int64_t& width) {
  const std::vector<std::string> parts = split(text, 'x');
  return parts.size() == 2 && parse_positive_int(parts[0], height) && parse_positive_int(parts[1], width);
}

// "0.5" -> {0.5, 0.5, 0.5}; "a:b:c" -> {a, b, c}.
bool parse_channel_values(const std::string& text, std::vector<float>& values) {
  const std::vector<std::string> parts = split(text, ':');
  if (parts.size() != 1 && parts.size() != static_cast<size_t>(kChannels)) return false;
  std::vector<float> parsed;
  for (const std::string& part : parts) {
    float value = 0;
    if (!parse_float(part, value)) return false;
    parsed.push_back(value);
  }
  values = parsed.size() == 1 ? std::vector<float>(kChannels, parsed[0]) : parsed;
  return true;
}

PreprocessSpec ppocr_line_preset(int64_t width) {
  PreprocessSpec spec;
  spec.resize = ResizeMode::kKeepRatioPad;
  spec.resize_height = kPpocrLineHeight;
  spec.resize_width = width;
  spec.scale = kPixelRange;
  spec.mean.assign(kChannels, kHalf);
  spec.std.assign(kChannels, kHalf);
  spec.channel_order = ChannelOrder::kBgr;
  return spec;
}

bool apply_preset(const std::string& name, PreprocessSpec& spec) {
  if (name == "ppocr-rec") {
    spec = ppocr_line_preset(kPpocrRecWidth);
  } else if (name == "ppocr-cls") {
    spec = ppocr_line_preset(kPpocrClsWidth);
  } else if (name == "ppocr-det") {
    spec = PreprocessSpec{};
    spec.resize = ResizeMode::kLimitLongSide;
    spec.limit_side = kPpocrDetLimitSide;
    spec.side_multiple = kPpocrDetMultiple;
    spec.mean = kImagenetMean;  // applied to B, G, R: PaddleOCR's order (see the header)
    spec.std = kImagenetStd;
    spec.channel_order = ChannelOrder::kBgr;
  } else if (name == "imagenet") {
    spec = PreprocessSpec{};
    spec.resize = ResizeMode::kShorterSide;
    spec.shorter_side = kImagenetShorterSide;
    spec.crop_height = spec.crop_width = kImagenetCrop;
    spec.mean = kImagenetMean;
    spec.std = kImagenetStd;
  } else {
    return false;
  }
  return true;
}

bool parse_resize(const std::string& value, PreprocessSpec& spec) {
  const std::vector<std::string> parts = split(value, ':');
  if (parts[0] == "limit") {
    spec.resize = ResizeMode::kLimitLongSide;
    return parts.size() == 3 && parse_positive_int(parts[1], spec.limit_side) &&
           parse_positive_int(parts[2], spec.side_multiple);
  }
  if (parts[0] == "short") {
    spec.resize = ResizeMode::kShorterSide;
    return parts.size() == 2 && parse_positive_int(parts[1], spec.shorter_side);
  }
  if (parts.size() == 1) {
    spec.resize = ResizeMode::kFixed;
    return parse_size(parts[0], spec.resize_height, spec.resize_width);
  }
  spec.resize = ResizeMode::kKeepRatioPad;
  return parts.size() == 2 && parts[1] == kKeepRatioPad && parse_size(parts[0], spec.resize_height, spec.resize_width);
}

// Python's int(round(x)): half to even.
int64_t round_half_to_even(double value) { return static_cast<int64_t>(std::nearbyint(value)); }

struct ResizedSize {
  int64_t height = 0;
  int64_t width = 0;
};

ResizedSize resized_size(const PreprocessSpec& spec, int64_t height, int64_t width) {
  switch (spec.resize) {
    case ResizeMode::kNone:
      return {height, width};
    case ResizeMode::kFixed:
      return {spec.resize_height, spec.resize_width};
    case ResizeMode::kKeepRatioPad: {
      const auto ratio_width = static_cast<int64_t>(std::ceil(
          static_cast<double>(spec.resize_height) * static_cast<double>(width) / static_cast<double>(height)));
      return {spec.resize_height, std::clamp<int64_t>(ratio_width, 1, spec.resize_width)};
    }
    case ResizeMode::kLimitLongSide: {
      double ratio = 1;
      if (std::max(height, width) > spec.limit_side)
        ratio = static_cast<double>(spec.limit_side) / static_cast<double>(height > width ? height : width);
      const auto to_multiple = [&](int64_t side) {
        const auto scaled = static_cast<int64_t>(static_cast<double>(side) * ratio);
        const int64_t multiple = spec.side_multiple;
        return std::max(round_half_to_even(static_cast<double>(scaled) / static_cast<double>(multiple)) * multiple,
                        multiple);
      };
      return {to_multiple(height), to_multiple(width)};
    }
    case ResizeMode::kShorterSide: {
      const int64_t side = spec.shorter_side;
      if (width <= height)
        return {
            static_cast<int64_t>(static_cast<double>(side) * static_cast<double>(height) / static_cast<double>(width)),
            side};
      return {side, static_cast<int64_t>(static_cast<double>(side) * static_cast<double>(width) /
                                         static_cast<double>(height))};
    }
  }
  return {height, width};
}

struct AxisSample {
  int64_t low = 0;
  int64_t high = 0;
  float weight = 0;  // of `high`
};

// Source positions of a half-pixel-centered resize, clamped to the edge pixels.
std::vector<AxisSample> axis_samples(int64_t in_size, int64_t out_size) {
  std::vector<AxisSample> samples(static_cast<size_t>(out_size));
  const double ratio = static_cast<double>(in_size) / static_cast<double>(out_size);
  for (int64_t i = 0; i < out_size; ++i) {
    const double source =
        std::clamp((static_cast<double>(i) + 0.5) * ratio - 0.5, 0.0, static_cast<double>(in_size - 1));
    AxisSample& sample = samples[static_cast<size_t>(i)];
    sample.low = static_cast<int64_t>(std::floor(source));
    sample.high = std::min(sample.low + 1, in_size - 1);
    sample.weight = static_cast<float>(source - static_cast<double>(sample.low));
  }
  return samples;
}

}  // namespace

PreprocessSpec parse_preprocess_spec(const std::string& text) {
  check(!text.empty(), kSpecOption,
        ": empty spec (e.g. ppocr-rec, or resize=48x320:keep-ratio-pad,mean=0.5,std=0.5,bgr)");
  PreprocessSpec spec;
  const std::vector<std::string> items = split(text, ',');
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    const size_t equals = item.find('=');
    const std::string key = item.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : item.substr(equals + 1);
    const auto bad = [&](const std::string& expected) {
      return Error(concat(kSpecOption, ": bad item '", item, "' in '", text, "' (expected ", expected, ")"));
    };
    if (equals == std::string::npos) {
      if (item == "rgb") {
        spec.channel_order = ChannelOrder::kRgb;
      } else if (item == "bgr") {
        spec.channel_order = ChannelOrder::kBgr;
      } else if (!apply_preset(item, spec)) {
        throw bad(
            "resize=, crop=, scale=, mean=, std=, layout=, rgb, bgr, or a preset: ppocr-rec, ppocr-cls, "
            "ppocr-det, imagenet");
      } else if (i != 0) {
        throw bad("a preset first, before the items overriding it");
      }
    } else if (key == "resize") {
      if (!parse_resize(value, spec)) throw bad(kResizeForms);
    } else if (key == "crop") {
      if (!parse_size(value, spec.crop_height, spec.crop_width)) throw bad("crop=HxW");
    } else if (key == "scale") {
      if (!parse_float(value, spec.scale) || spec.scale <= 0) throw bad("scale=X with X > 0");
    } else if (key == "mean") {
      if (!parse_channel_values(value, spec.mean)) throw bad("mean=A or mean=A:B:C");
    } else if (key == "std") {
      if (!parse_channel_values(value, spec.std) ||
          std::any_of(spec.std.begin(), spec.std.end(), [](float v) { return v == 0; }))
        throw bad("std=A or std=A:B:C, non-zero");
    } else if (key == "layout") {
      if (value == "nchw")
        spec.layout = TensorLayout::kNchw;
      else if (value == "nhwc")
        spec.layout = TensorLayout::kNhwc;
      else
        throw bad("layout=nchw or layout=nhwc");
    } else {
      throw bad("one of resize=, crop=, scale=, mean=, std=, layout=");
    }
  }
  return spec;
}

std::vector<float> resize_bilinear(const RgbImage& image, int64_t height, int64_t width) {
  check(image.height > 0 && image.width > 0 && height > 0 && width > 0, "resize: empty image or size");
  const std::vector<AxisSample> rows = axis_samples(image.height, height);
  const std::vector<AxisSample> columns = axis_samples(image.width, width);
  std::vector<float> row_pixels(static_cast<size_t>(image.width * kChannels));
  std::vector<float> result(static_cast<size_t>(height * width * kChannels));
  for (int64_t y = 0; y < height; ++y) {
    const AxisSample& row = rows[static_cast<size_t>(y)];
    const float low_weight = 1.0f - row.weight;
    for (int64_t x = 0; x < image.width; ++x) {
      for (int64_t c = 0; c < kChannels; ++c) {
        row_pixels[static_cast<size_t>(x * kChannels + c)] = static_cast<float>(image.at(row.low, x, c)) * low_weight +
                                                             static_cast<float>(image.at(row.high, x, c)) * row.weight;
      }
    }
    for (int64_t x = 0; x < width; ++x) {
      const AxisSample& column = columns[static_cast<size_t>(x)];
      const float left_weight = 1.0f - column.weight;
      for (int64_t c = 0; c < kChannels; ++c) {
        result[static_cast<size_t>((y * width + x) * kChannels + c)] =
            row_pixels[static_cast<size_t>(column.low * kChannels + c)] * left_weight +
            row_pixels[static_cast<size_t>(column.high * kChannels + c)] * column.weight;
      }
    }
  }
  return result;
}

Tensor preprocess_image(const RgbImage& image, const PreprocessSpec& spec, SampleGeometry* geometry) {
  check(image.height > 0 && image.width > 0, "empty image");
  const ResizedSize resized = resized_size(spec, image.height, image.width);
  const std::vector<float> pixels = resize_bilinear(image, resized.height, resized.width);

  int64_t crop_top = 0, crop_left = 0, crop_height = resized.height, crop_width = resized.width;
  if (spec.crop_height > 0) {
    check(spec.crop_height <= resized.height && spec.crop_width <= resized.width, kSpecOption, ": crop ",
          spec.crop_height, "x", spec.crop_width, " is larger than the resized image ", resized.height, "x",
          resized.width);
    crop_height = spec.crop_height;
    crop_width = spec.crop_width;
    crop_top = round_half_to_even(static_cast<double>(resized.height - crop_height) / 2);
    crop_left = round_half_to_even(static_cast<double>(resized.width - crop_width) / 2);
  }
  const int64_t tensor_height = crop_height;
  const int64_t tensor_width = spec.resize == ResizeMode::kKeepRatioPad ? spec.resize_width : crop_width;

  const bool channels_last = spec.layout == TensorLayout::kNhwc;
  Tensor tensor(DataType::kFloat, channels_last
                                      ? Shape{1, tensor_height, tensor_width, kChannels}
                                      : Shape{1, kChannels, tensor_height, tensor_width});  // zero-filled: the padding
  float* destination = tensor.data<float>();
  for (int64_t c = 0; c < kChannels; ++c) {
    const int64_t source_channel = spec.channel_order == ChannelOrder::kRgb ? c : kChannels - 1 - c;
    const float mean = spec.mean[static_cast<size_t>(c)];
    const float std = spec.std[static_cast<size_t>(c)];
    for (int64_t y = 0; y < crop_height; ++y) {
      for (int64_t x = 0; x < crop_width; ++x) {
        const float value =
            pixels[static_cast<size_t>(((y + crop_top) * resized.width + x + crop_left) * kChannels + source_channel)];
        const int64_t index =
            channels_last ? (y * tensor_width + x) * kChannels + c : (c * tensor_height + y) * tensor_width + x;
        destination[index] = (value / spec.scale - mean) / std;
      }
    }
  }
  if (geometry != nullptr) {
    *geometry = {image.height, image.width, resized.height, resized.width,
                 crop_top,     crop_left,   tensor_height,  tensor_width};
  }
  return tensor;
}

Tensor load_image_sample(const std::string& path, const PreprocessSpec& spec, SampleGeometry* geometry) {
  const RgbImage image = decode_image_file(path);
  try {
    return preprocess_image(image, spec, geometry);
  } catch (const Error& error) {
    throw Error(concat(path, ": ", error.what()));
  }
}

std::vector<std::string> list_sample_files(const std::string& folder, SampleFormat format) {
  check(fs::is_directory(folder), folder, ": not a folder");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    const bool wanted = format == SampleFormat::kNpy ? entry.path().extension() == ".npy" : is_image_file_name(name);
    if (wanted) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  for (const std::string& name : names) paths.push_back((fs::path(folder) / name).string());
  return paths;
}

}  // namespace octet
