#include "eval/ocr_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "eval/preprocess.h"
#include "octet/status.h"

namespace octet {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kChannels = 3;
// filter_tag_det_res drops boxes whose top or left edge is at most this long (pixels).
constexpr double kMinimumBoxSide = 3;
// sorted_boxes: top-left corners closer than this vertically (pixels) are on the same line.
constexpr double kSameLineDistance = 10;
// The direction classifier's class for text turned by 180 degrees (label list "0", "180").
constexpr int64_t kUpsideDownClass = 1;
constexpr int64_t kDirectionClasses = 2;
// Below this |denominator| the quadrilateral's corners 1, 2, 3 are collinear: a parallelogram
// mapping (the affine limit of the projective one) is used instead of dividing by ~0.
constexpr double kDegenerateQuad = 1e-12;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double distance(Point a, Point b) { return std::hypot(a.x - b.x, a.y - b.y); }

// A dimension of a declared shape when the model fixes it, else -1.
int64_t known_dim(const ValueInfo& info, size_t axis) {
  if (!info.has_shape || axis >= info.dims.size()) return -1;
  return info.dims[axis].value;
}

// Checks that a model has one image input [N, 3, H, W] and returns that input's name; `role` and
// the file name the model in errors.
std::string check_image_model(const Session& session, const std::string& path, const std::string& role) {
  check(session.inputs().size() == 1, path, ": not a text ", role, " model: it has ", session.inputs().size(),
        " inputs (expected one image input [N, 3, H, W])");
  const ValueInfo& input = session.inputs().front();
  check(!input.has_shape || (input.dims.size() == 4 && (known_dim(input, 1) < 0 || known_dim(input, 1) == kChannels)),
        path, ": not a text ", role, " model: its input '", input.name, "' is ", input.shape_string(),
        " (expected [N, 3, H, W])");
  check(!session.outputs().empty(), path, ": the ", role, " model has no outputs");
  return input.name;
}

// The unit square mapped to a quadrilateral (Heckbert's projective square-to-quad mapping):
// (0, 0) -> corners[0], (1, 0) -> corners[1], (1, 1) -> corners[2], (0, 1) -> corners[3].
struct SquareToQuad {
  double a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0;

  explicit SquareToQuad(const Quad& corners) {
    const Point p0 = corners[0], p1 = corners[1], p2 = corners[2], p3 = corners[3];
    const double sum_x = p0.x - p1.x + p2.x - p3.x;
    const double sum_y = p0.y - p1.y + p2.y - p3.y;
    const double dx1 = p1.x - p2.x, dx2 = p3.x - p2.x;
    const double dy1 = p1.y - p2.y, dy2 = p3.y - p2.y;
    const double denominator = dx1 * dy2 - dx2 * dy1;
    if (std::abs(denominator) > kDegenerateQuad) {
      g = (sum_x * dy2 - dx2 * sum_y) / denominator;
      h = (dx1 * sum_y - sum_x * dy1) / denominator;
    }
    a = p1.x - p0.x + g * p1.x;
    b = p3.x - p0.x + h * p3.x;
    c = p0.x;
    d = p1.y - p0.y + g * p1.y;
    e = p3.y - p0.y + h * p3.y;
    f = p0.y;
  }

  Point operator()(double u, double v) const {
    const double w = g * u + h * v + 1;
    return {(a * u + b * v + c) / w, (d * u + e * v + f) / w};
  }
};

// Bilinear sample at (x, y) with edge pixels replicated, channel by channel, rounded to 8 bits.
void sample_bilinear(const RgbImage& image, Point at, uint8_t* destination) {
  const double x = std::clamp(at.x, 0.0, static_cast<double>(image.width - 1));
  const double y = std::clamp(at.y, 0.0, static_cast<double>(image.height - 1));
  const auto x0 = static_cast<int64_t>(std::floor(x));
  const auto y0 = static_cast<int64_t>(std::floor(y));
  const int64_t x1 = std::min(x0 + 1, image.width - 1);
  const int64_t y1 = std::min(y0 + 1, image.height - 1);
  const double wx = x - static_cast<double>(x0);
  const double wy = y - static_cast<double>(y0);
  for (int64_t c = 0; c < kChannels; ++c) {
    const double top = image.at(y0, x0, c) * (1 - wx) + image.at(y0, x1, c) * wx;
    const double bottom = image.at(y1, x0, c) * (1 - wx) + image.at(y1, x1, c) * wx;
    destination[c] = static_cast<uint8_t>(std::clamp(std::nearbyint(top * (1 - wy) + bottom * wy), 0.0, 255.0));
  }
}

RgbImage blank_image(int64_t height, int64_t width) {
  RgbImage image;
  image.height = height;
  image.width = width;
  image.pixels.resize(static_cast<size_t>(height * width * kChannels));
  return image;
}

void copy_pixel(const RgbImage& source, int64_t source_y, int64_t source_x, RgbImage& destination, int64_t y,
                int64_t x) {
  for (int64_t c = 0; c < kChannels; ++c)
    destination.pixels[static_cast<size_t>((y * destination.width + x) * kChannels + c)] =
        source.at(source_y, source_x, c);
}

PreprocessSpec preset(const char* name) { return parse_preprocess_spec(name); }

}  // namespace

// ---- The steps -----------------------------------------------------------------------------------

Quad order_points_clockwise(const Polygon& points) {
  check(points.size() == 4, "text box: expected 4 corners, got ", points.size());
  size_t top_left = 0, bottom_right = 0;
  for (size_t i = 1; i < 4; ++i) {
    const double sum = points[i].x + points[i].y;
    if (sum < points[top_left].x + points[top_left].y) top_left = i;
    if (sum > points[bottom_right].x + points[bottom_right].y) bottom_right = i;
  }
  if (bottom_right == top_left) bottom_right = top_left == 3 ? 2 : 3;  // all sums equal: a degenerate box
  std::vector<size_t> others;
  for (size_t i = 0; i < 4; ++i)
    if (i != top_left && i != bottom_right) others.push_back(i);
  const auto difference = [&](size_t i) { return points[i].y - points[i].x; };
  // The smaller y - x is the top-right corner (the first one on a tie, as numpy's argmin).
  const bool first_is_top_right = difference(others[0]) <= difference(others[1]);
  const size_t top_right = first_is_top_right ? others[0] : others[1];
  const size_t bottom_left = first_is_top_right ? others[1] : others[0];
  return {points[top_left], points[top_right], points[bottom_right], points[bottom_left]};
}

std::vector<Quad> filter_detected_boxes(const std::vector<DetectedBox>& boxes, int64_t height, int64_t width) {
  std::vector<Quad> kept;
  for (const DetectedBox& detected : boxes) {
    Quad box = order_points_clockwise(detected.points);
    for (Point& corner : box) {
      corner.x = std::trunc(std::clamp(corner.x, 0.0, static_cast<double>(width - 1)));
      corner.y = std::trunc(std::clamp(corner.y, 0.0, static_cast<double>(height - 1)));
    }
    const double top_edge = std::trunc(distance(box[0], box[1]));
    const double left_edge = std::trunc(distance(box[0], box[3]));
    if (top_edge <= kMinimumBoxSide || left_edge <= kMinimumBoxSide) continue;
    kept.push_back(box);
  }
  return kept;
}

void sort_text_boxes(std::vector<Quad>& boxes) {
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const Quad& a, const Quad& b) { return a[0].y != b[0].y ? a[0].y < b[0].y : a[0].x < b[0].x; });
  for (size_t i = 0; i + 1 < boxes.size(); ++i) {
    for (size_t j = i + 1; j > 0; --j) {
      const Quad& upper = boxes[j - 1];
      const Quad& lower = boxes[j];
      if (std::abs(lower[0].y - upper[0].y) >= kSameLineDistance || lower[0].x >= upper[0].x) break;
      std::swap(boxes[j - 1], boxes[j]);
    }
  }
}

RgbImage crop_text_region(const RgbImage& image, const Quad& box) {
  check(image.height > 0 && image.width > 0, "text crop: empty image");
  const auto width = static_cast<int64_t>(std::max(distance(box[0], box[1]), distance(box[2], box[3])));
  const auto height = static_cast<int64_t>(std::max(distance(box[0], box[3]), distance(box[1], box[2])));
  check(width >= 1 && height >= 1, "text crop: the box (", box[0].x, ",", box[0].y, " ", box[1].x, ",", box[1].y, " ",
        box[2].x, ",", box[2].y, " ", box[3].x, ",", box[3].y, ") is smaller than one pixel");
  const SquareToQuad to_image(box);
  RgbImage crop = blank_image(height, width);
  for (int64_t y = 0; y < height; ++y) {
    const double v = static_cast<double>(y) / static_cast<double>(height);
    for (int64_t x = 0; x < width; ++x) {
      const double u = static_cast<double>(x) / static_cast<double>(width);
      sample_bilinear(image, to_image(u, v), &crop.pixels[static_cast<size_t>((y * width + x) * kChannels)]);
    }
  }
  if (static_cast<double>(height) >= kVerticalTextRatio * static_cast<double>(width))
    return rotate_image_90_counter_clockwise(crop);
  return crop;
}

RgbImage rotate_image_180(const RgbImage& image) {
  RgbImage rotated = blank_image(image.height, image.width);
  for (int64_t y = 0; y < image.height; ++y)
    for (int64_t x = 0; x < image.width; ++x)
      copy_pixel(image, image.height - 1 - y, image.width - 1 - x, rotated, y, x);
  return rotated;
}

RgbImage rotate_image_90_counter_clockwise(const RgbImage& image) {
  RgbImage rotated = blank_image(image.width, image.height);
  for (int64_t y = 0; y < rotated.height; ++y)
    for (int64_t x = 0; x < rotated.width; ++x) copy_pixel(image, x, image.width - 1 - y, rotated, y, x);
  return rotated;
}

int64_t recognition_input_width(int64_t crop_height, int64_t crop_width, int64_t width_multiple) {
  check(crop_height > 0 && crop_width > 0, "text crop: empty crop ", crop_height, "x", crop_width);
  check(width_multiple > 0, "recognition width multiple must be positive, got ", width_multiple);
  // As PaddleOCR computes it (ratio first, then the product, truncated), so that widths agree exactly.
  const double default_ratio = static_cast<double>(kPpocrRecWidth) / static_cast<double>(kPpocrLineHeight);
  const double ratio = std::max(default_ratio, static_cast<double>(crop_width) / static_cast<double>(crop_height));
  const auto width = static_cast<int64_t>(static_cast<double>(kPpocrLineHeight) * ratio);
  return (width + width_multiple - 1) / width_multiple * width_multiple;
}

CtcDecoded ctc_greedy_decode_with_score(const Tensor& probabilities) {
  const bool batched = probabilities.rank() == 3;
  check((batched && probabilities.dim(0) == 1) || probabilities.rank() == 2,
        "CTC decoding needs an output of shape [1, T, C] or [T, C], got ", shape_to_string(probabilities.shape()));
  check(probabilities.dtype() == DataType::kFloat, "CTC decoding needs a float output, got ",
        dtype_name(probabilities.dtype()));
  const int64_t steps = probabilities.dim(probabilities.rank() - 2);
  const int64_t classes = probabilities.dim(probabilities.rank() - 1);
  check(classes > 0, "CTC decoding: the output has no classes");
  const float* data = probabilities.data<float>();
  CtcDecoded decoded;
  double probability_sum = 0;
  int64_t previous = -1;
  for (int64_t t = 0; t < steps; ++t) {
    const float* row = data + t * classes;
    const int64_t best = std::max_element(row, row + classes) - row;
    if (best != previous && best != kCtcBlankClass) {
      decoded.classes.push_back(best);
      probability_sum += row[best];
    }
    previous = best;
  }
  if (!decoded.classes.empty()) decoded.score = probability_sum / static_cast<double>(decoded.classes.size());
  return decoded;
}

// ---- The pipeline --------------------------------------------------------------------------------

OcrPipeline::OcrPipeline(const OcrModelFiles& files, const OcrPipelineOptions& options)
    : files_(files), options_(options), dictionary_(CtcDictionary::from_file(files.dictionary)) {
  check(options.recognition_width_multiple > 0, "OCR: the recognition width multiple must be positive, got ",
        options.recognition_width_multiple);
  SessionOptions session_options;
  session_options.threads = options.threads;

  detector_ = Session::from_file(files.detector, session_options);
  check_image_model(*detector_, files.detector, "detector");
  const ValueInfo& probability_map = detector_->outputs().front();
  check(!probability_map.has_shape || (probability_map.dims.size() == 4 &&
                                       (known_dim(probability_map, 1) < 0 || known_dim(probability_map, 1) == 1)),
        files.detector, ": not a DB text detector: its output '", probability_map.name, "' is ",
        probability_map.shape_string(), " (expected a probability map [N, 1, H, W])");

  if (!files.classifier.empty()) {
    classifier_ = Session::from_file(files.classifier, session_options);
    check_image_model(*classifier_, files.classifier, "direction classifier");
    const ValueInfo& scores = classifier_->outputs().front();
    check(!scores.has_shape ||
              (scores.dims.size() == 2 && (known_dim(scores, 1) < 0 || known_dim(scores, 1) == kDirectionClasses)),
          files.classifier, ": not a direction classifier: its output '", scores.name, "' is ", scores.shape_string(),
          " (expected [N, 2]: 0 and 180 degrees)");
  }

  recognizer_ = Session::from_file(files.recognizer, session_options);
  check_image_model(*recognizer_, files.recognizer, "recognizer");
  const ValueInfo& line = recognizer_->inputs().front();
  check(known_dim(line, 2) < 0 || known_dim(line, 2) == kPpocrLineHeight, files.recognizer,
        ": the recognizer's input '", line.name, "' is ", line.shape_string(), " (expected height ", kPpocrLineHeight,
        ", PaddleOCR's rec_image_shape)");
  const ValueInfo& sequence = recognizer_->outputs().front();
  check(!sequence.has_shape || sequence.dims.size() == 3, files.recognizer, ": not a CTC recognizer: its output '",
        sequence.name, "' is ", sequence.shape_string(), " (expected [N, T, classes])");
  recognizer_classes_ = known_dim(sequence, 2);
  if (recognizer_classes_ >= 0) {
    const auto entries = static_cast<int64_t>(dictionary_.size());
    check(recognizer_classes_ == entries + 1 || recognizer_classes_ == entries + 2, files.dictionary, ": ", entries,
          " characters do not fit the recognizer ", files.recognizer, ", which has ", recognizer_classes_,
          " classes (expected ", recognizer_classes_ - 2, " or ", recognizer_classes_ - 1,
          " characters: blank + characters [+ space])");
  }
}

OcrPipeline::~OcrPipeline() = default;

std::vector<Quad> OcrPipeline::detect(const RgbImage& image) {
  SampleGeometry geometry;
  const Tensor input = preprocess_image(image, preset("ppocr-det"), &geometry);
  std::vector<Tensor> outputs = detector_->run({{detector_->inputs().front().name, &input}});
  const Tensor& map = outputs.front();
  check(map.rank() == 4 && map.dim(0) == 1 && map.dim(1) == 1, files_.detector, ": the detector's output is ",
        shape_to_string(map.shape()), " (expected a probability map [1, 1, H, W])");
  // Map pixels -> input tensor pixels -> image pixels (the detector's map may be smaller than its input).
  BoxMapping mapping;
  mapping.scale_x = static_cast<double>(geometry.tensor_width) / static_cast<double>(map.dim(3)) *
                    static_cast<double>(geometry.source_width) / static_cast<double>(geometry.resized_width);
  mapping.scale_y = static_cast<double>(geometry.tensor_height) / static_cast<double>(map.dim(2)) *
                    static_cast<double>(geometry.source_height) / static_cast<double>(geometry.resized_height);
  mapping.max_x = static_cast<double>(image.width);
  mapping.max_y = static_cast<double>(image.height);
  std::vector<Quad> boxes =
      filter_detected_boxes(db_postprocess(map, mapping, options_.detection), image.height, image.width);
  sort_text_boxes(boxes);
  return boxes;
}

bool OcrPipeline::classify_upside_down(const RgbImage& crop) {
  const ValueInfo& input = classifier_->inputs().front();
  PreprocessSpec spec = preset("ppocr-cls");
  if (known_dim(input, 2) > 0) spec.resize_height = known_dim(input, 2);
  if (known_dim(input, 3) > 0) spec.resize_width = known_dim(input, 3);
  const Tensor tensor = preprocess_image(crop, spec);
  std::vector<Tensor> outputs = classifier_->run({{input.name, &tensor}});
  const Tensor& scores = outputs.front();
  check(scores.dtype() == DataType::kFloat && scores.element_count() == kDirectionClasses, files_.classifier,
        ": the classifier's output is ", shape_to_string(scores.shape()), " (expected [1, 2] float)");
  const float* probabilities = scores.data<float>();
  const int64_t best = probabilities[kUpsideDownClass] > probabilities[0] ? kUpsideDownClass : 0;
  return best == kUpsideDownClass && probabilities[kUpsideDownClass] > options_.classifier_threshold;
}

OcrLine OcrPipeline::recognize(const RgbImage& crop, const Quad& box) {
  const ValueInfo& input = recognizer_->inputs().front();
  PreprocessSpec spec = preset("ppocr-rec");
  // A recognizer with a fixed width gets that width (longer lines are squeezed into it).
  spec.resize_width = known_dim(input, 3) > 0
                          ? known_dim(input, 3)
                          : recognition_input_width(crop.height, crop.width, options_.recognition_width_multiple);
  const Tensor tensor = preprocess_image(crop, spec);
  std::vector<Tensor> outputs = recognizer_->run({{input.name, &tensor}});
  const Tensor& probabilities = outputs.front();
  check(probabilities.rank() == 3 && (recognizer_classes_ < 0 || probabilities.dim(2) == recognizer_classes_),
        files_.recognizer, ": the recognizer's output is ", shape_to_string(probabilities.shape()),
        " (expected [1, T, classes])");
  const CtcDecoded decoded = ctc_greedy_decode_with_score(probabilities);
  OcrLine line;
  line.box = box;
  line.text = code_points_to_utf8(dictionary_.decode(decoded.classes, probabilities.dim(2)));
  line.score = decoded.score;
  return line;
}

OcrResult OcrPipeline::run(const RgbImage& image) {
  const bool well_formed = image.height > 0 && image.width > 0 &&
                           image.pixels.size() == static_cast<size_t>(image.height * image.width * kChannels);
  check(well_formed, "OCR: empty or malformed image");
  OcrResult result;
  const Clock::time_point start = Clock::now();
  const std::vector<Quad> boxes = detect(image);
  result.times.detection_ms = milliseconds_since(start);
  result.detected_boxes = static_cast<int64_t>(boxes.size());

  for (const Quad& box : boxes) {
    Clock::time_point stage = Clock::now();
    RgbImage crop = crop_text_region(image, box);
    result.times.crop_ms += milliseconds_since(stage);

    bool upside_down = false;
    if (classifier_) {
      stage = Clock::now();
      upside_down = classify_upside_down(crop);
      if (upside_down) crop = rotate_image_180(crop);
      result.times.classification_ms += milliseconds_since(stage);
    }

    stage = Clock::now();
    OcrLine line = recognize(crop, box);
    line.rotated_180 = upside_down;
    result.times.recognition_ms += milliseconds_since(stage);
    if (line.score >= options_.drop_score) result.lines.push_back(std::move(line));
  }
  result.times.total_ms = milliseconds_since(start);
  return result;
}

}  // namespace octet
