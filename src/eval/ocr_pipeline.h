// The full OCR pipeline, as PaddleOCR's TextSystem runs it: detect -> crop -> classify direction ->
// recognize (the library behind `octet ocr`).
//
//   1. Detection: the page is preprocessed by the ppocr-det preset (eval/preprocess.h: both sides
//      multiples of 32, long side <= 960), the DB detector gives a probability map, and DB
//      post-processing (eval/text_detection.h) gives quadrilaterals in page pixels. Each is put in
//      clockwise order from its top-left corner and clipped to the page; boxes 3 pixels wide or
//      high or less are dropped (PaddleOCR's filter_tag_det_res). The boxes are sorted top to
//      bottom, then left to right within a line (sort_text_boxes: PaddleOCR's 10-pixel rule).
//   2. Crop: each quadrilateral is warped to an upright rectangle (crop_text_region: PaddleOCR's
//      get_rotate_crop_image, with bilinear instead of bicubic sampling); a crop at least 1.5 times
//      higher than wide is rotated by 90 degrees (vertical text).
//   3. Direction (when a classifier is given): ppocr-cls preprocessing (48x192, keep ratio, pad);
//      class 1 ("180") with a probability above classifier_threshold rotates the crop by 180 degrees.
//   4. Recognition: ppocr-rec preprocessing at height 48 and the width of recognition_input_width
//      (the recognizer's width is dynamic; rounded up to a multiple of 64 by default, see
//      OcrPipelineOptions::recognition_width_multiple), greedy CTC decoding with the dictionary, the score is
//      the mean probability of the kept characters. Lines scoring below drop_score are dropped.
//
// Each crop is classified and recognized alone (batch 1): PaddleOCR batches 6 crops padded to the
// widest of them, so its padding, and in rare cases its text, depends on the neighbouring lines;
// octet's result for a line depends only on that line.
//
// Coordinates are pixels of the input image, x to the right, y downwards (eval/text_detection.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eval/image_file.h"
#include "eval/metrics.h"
#include "eval/text_detection.h"
#include "runtime/session.h"

namespace octet {

// A text quadrilateral: top-left, top-right, bottom-right, bottom-left (clockwise on screen).
using Quad = std::array<Point, 4>;

// One recognized text line.
struct OcrLine {
  Quad box;                  // in input image pixels (integers, as detected)
  std::string text;          // UTF-8
  double score = 0;          // mean probability of the decoded characters, 0..1
  bool rotated_180 = false;  // the classifier turned the crop upside down before recognition
};

// Wall time of each stage for one image, in milliseconds.
struct OcrStageTimes {
  double detection_ms = 0;       // preprocessing, detector run, DB post-processing, sorting
  double crop_ms = 0;            // perspective warps
  double classification_ms = 0;  // 0 without a classifier
  double recognition_ms = 0;     // preprocessing, recognizer runs, CTC decoding
  double total_ms = 0;
};

struct OcrResult {
  std::vector<OcrLine> lines;  // reading order; only lines scoring at least drop_score
  int64_t detected_boxes = 0;  // boxes recognized, including the dropped ones
  OcrStageTimes times;
};

// The model files of a pipeline. `classifier` may be empty: no direction classification.
struct OcrModelFiles {
  std::string detector;    // DB text detector (PP-OCRv4 det): input [N, 3, H, W], output [N, 1, H, W]
  std::string classifier;  // direction classifier (ppocr cls): output [N, 2], classes 0 and 180 degrees
  std::string recognizer;  // CTC recognizer (PP-OCRv4 rec): input [N, 3, 48, W], output [N, T, classes]
  std::string dictionary;  // the recognizer's characters (ppocr_keys_v1.txt), see CtcDictionary
};

// PaddleOCR's TextSystem defaults.
struct OcrPipelineOptions {
  int threads = 0;  // per session; <= 0: one per core
  DbPostProcessOptions detection;
  double classifier_threshold = 0.9;  // minimum probability of "180" to turn a crop
  double drop_score = 0.5;            // lines with a lower recognition score are dropped
  // The recognizer's input width is rounded up to a multiple of this (see recognition_input_width):
  // the runtime prepares kernels and reordered weights once per input shape and keeps them (about
  // 30 MB per width for PP-OCRv4 rec), so every distinct width costs time once and memory for good.
  // 64 bounds the shapes to a few (320, 384, 448, ...) at the price of up to 63 more padding columns
  // (PaddleOCR pads a batch to its widest line anyway). 1: PaddleOCR's exact width.
  int64_t recognition_width_multiple = 64;
};

class OcrPipeline {
 public:
  // Loads and prepares the models once (they are reused for every image). Throws Error naming the
  // file when a model cannot be loaded or does not have the role's input/output form, or when the
  // dictionary's size does not fit the recognizer's class count (blank + characters [+ space]).
  explicit OcrPipeline(const OcrModelFiles& files, const OcrPipelineOptions& options = {});
  ~OcrPipeline();
  OcrPipeline(const OcrPipeline&) = delete;
  OcrPipeline& operator=(const OcrPipeline&) = delete;

  bool has_classifier() const { return classifier_ != nullptr; }
  // The recognizer's class count (blank + characters [+ space]).
  int64_t recognizer_classes() const { return recognizer_classes_; }

  // Reads the text of one image. Deterministic: the same image gives the same result.
  OcrResult run(const RgbImage& image);

 private:
  std::vector<Quad> detect(const RgbImage& image);
  bool classify_upside_down(const RgbImage& crop);
  OcrLine recognize(const RgbImage& crop, const Quad& box);

  OcrModelFiles files_;
  OcrPipelineOptions options_;
  CtcDictionary dictionary_;  // loaded first: a bad dictionary fails before the models load
  std::unique_ptr<Session> detector_;
  std::unique_ptr<Session> classifier_;  // null without a classifier
  std::unique_ptr<Session> recognizer_;
  int64_t recognizer_classes_ = 0;
};

// ---- The steps, exposed for tests ----------------------------------------------------------------

// The 4 corners of a detected box in clockwise order from the top-left: the corner with the
// smallest x + y is top-left, the largest bottom-right; of the other two, the one with the smaller
// y - x is top-right (PaddleOCR's order_points_clockwise). Throws Error unless there are 4 points.
Quad order_points_clockwise(const Polygon& points);

// Detected boxes (page coordinates) -> the boxes PaddleOCR's TextSystem crops: corners ordered
// (order_points_clockwise), clipped to [0, width - 1] x [0, height - 1], and boxes whose top edge or
// left edge is 3 pixels long or less (after truncation to an integer) dropped.
std::vector<Quad> filter_detected_boxes(const std::vector<DetectedBox>& boxes, int64_t height, int64_t width);

// Reading order (PaddleOCR's sorted_boxes): by the top-left corner's y, then x; then a box whose
// top-left y differs from the previous box's by less than 10 pixels is on the same line, and moves
// before it when it lies further left (bubbling back as far as that holds).
void sort_text_boxes(std::vector<Quad>& boxes);

// The box warped to an upright rectangle: width = the longer of the top and bottom edges, height =
// the longer of the left and right edges (both truncated to integers); the perspective transform
// maps the corners to (0, 0), (width, 0), (width, height), (0, height) and each output pixel
// samples the image bilinearly at its preimage (edge pixels replicated outside the image), rounded
// to the nearest integer. A result at least 1.5 times higher than wide is rotated by 90 degrees
// counter-clockwise (vertical text read top to bottom becomes a line read left to right).
// Throws Error when the box is smaller than one pixel.
RgbImage crop_text_region(const RgbImage& image, const Quad& box);

// The height/width ratio from which crop_text_region turns a crop by 90 degrees.
inline constexpr double kVerticalTextRatio = 1.5;

RgbImage rotate_image_180(const RgbImage& image);
// Counter-clockwise on screen (numpy's rot90): the top-right pixel becomes the top-left one.
RgbImage rotate_image_90_counter_clockwise(const RgbImage& image);

// The recognizer's input width for a crop: 320 (PaddleOCR's rec_image_shape 3x48x320), or wider for
// a longer line: int(48 * width / height), as PaddleOCR's max_wh_ratio for a batch of one crop;
// then rounded up to a multiple of `width_multiple`. The crop is resized to height 48 keeping its
// ratio (ceil(48 * width / height) columns, at most the input width) and padded on the right.
int64_t recognition_input_width(int64_t crop_height, int64_t crop_width, int64_t width_multiple = 1);

// Greedy CTC decoding (see ctc_greedy_decode) that also returns PaddleOCR's line score: the mean of
// the kept time steps' maximum probabilities (0 when no character is kept).
struct CtcDecoded {
  std::vector<int64_t> classes;
  double score = 0;
};
CtcDecoded ctc_greedy_decode_with_score(const Tensor& probabilities);

}  // namespace octet
