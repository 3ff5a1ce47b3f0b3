// Tests of the OCR pipeline's steps (src/eval/ocr_pipeline.h) on synthetic data: corner order and
// box filtering, reading order (PaddleOCR's 10-pixel same-line rule), the perspective crop of known
// rectangles and quadrilaterals, the vertical-text rotation rule, image rotations, the recognizer's
// input width, and CTC decoding with its score. The models themselves run in tests/e2e/ocr_pipeline.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "eval/ocr_pipeline.h"
#include "octet/status.h"

namespace octet {
namespace {

std::string describe(const Quad& box) {
  std::string text;
  for (const Point& p : box) text += "(" + std::to_string(p.x) + ", " + std::to_string(p.y) + ") ";
  return text;
}

void expect_quad(const Quad& actual, const Quad& expected) {
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(actual[i].x, expected[i].x)
        << "corner " << i << ": got " << describe(actual) << ", expected " << describe(expected);
    EXPECT_EQ(actual[i].y, expected[i].y)
        << "corner " << i << ": got " << describe(actual) << ", expected " << describe(expected);
  }
}

Quad axis_box(double x0, double y0, double x1, double y1) { return {{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}}; }

// An image whose red channel is the column and green the row (both < 256), blue constant: a crop's
// pixels tell where in the image they were sampled.
RgbImage coordinate_image(int64_t height, int64_t width) {
  RgbImage image;
  image.height = height;
  image.width = width;
  image.pixels.resize(static_cast<size_t>(height * width * 3));
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      uint8_t* pixel = &image.pixels[static_cast<size_t>((y * width + x) * 3)];
      pixel[0] = static_cast<uint8_t>(x);
      pixel[1] = static_cast<uint8_t>(y);
      pixel[2] = 77;
    }
  }
  return image;
}

int pixel(const RgbImage& image, int64_t y, int64_t x, int64_t channel) { return image.at(y, x, channel); }

TEST(EvalOcrPipelineTest, OrderPointsClockwiseFromAnyStart) {
  // A rectangle turned by atan(3/4) clockwise on screen: top-left (50, 30), top-right (130, 90).
  const Quad expected{{{50, 30}, {130, 90}, {106, 122}, {26, 62}}};
  for (size_t start = 0; start < 4; ++start) {
    Polygon forward, backward;
    for (size_t i = 0; i < 4; ++i) {
      forward.push_back(expected[(start + i) % 4]);
      backward.push_back(expected[(start + 4 - i) % 4]);
    }
    SCOPED_TRACE("start " + std::to_string(start));
    expect_quad(order_points_clockwise(forward), expected);
    expect_quad(order_points_clockwise(backward), expected);
  }
  // Turned the other way (counter-clockwise on screen), the top-left corner is the leftmost one.
  const Quad counter{{{20, 60}, {100, 0}, {124, 32}, {44, 92}}};
  expect_quad(order_points_clockwise({counter[2], counter[3], counter[0], counter[1]}), counter);
  EXPECT_THROW(order_points_clockwise({{0, 0}, {1, 0}, {1, 1}}), Error);
}

TEST(EvalOcrPipelineTest, FilterDetectedBoxesClipsAndDropsThinBoxes) {
  const auto detected = [](const Quad& box) { return DetectedBox{Polygon(box.begin(), box.end()), 0.9}; };
  // Out of a 100 x 50 image on the right and bottom; given bottom-right first.
  const DetectedBox outside{{{120, 60}, {-5, 60}, {-5, 10}, {120, 10}}, 0.9};
  const std::vector<Quad> kept =
      filter_detected_boxes({outside, detected(axis_box(10, 10, 14, 30)), detected(axis_box(10, 10, 13, 30)),
                             detected(axis_box(10, 10, 40, 13)), detected(axis_box(10, 10, 40, 14))},
                            50, 100);
  ASSERT_EQ(kept.size(), 3u) << "boxes 4 pixels wide or high are kept, 3 pixels are dropped";
  expect_quad(kept[0], axis_box(0, 10, 99, 49));
  expect_quad(kept[1], axis_box(10, 10, 14, 30));
  expect_quad(kept[2], axis_box(10, 10, 40, 14));
}

TEST(EvalOcrPipelineTest, SortTextBoxesReadingOrder) {
  // Three boxes of one line whose tops differ by less than 10 pixels, given right to left (and
  // so sorted by y right to left too): they come out left to right.
  std::vector<Quad> line{axis_box(200, 20, 260, 40), axis_box(100, 23, 160, 43), axis_box(10, 26, 60, 46)};
  sort_text_boxes(line);
  EXPECT_EQ(line[0][0].x, 10);
  EXPECT_EQ(line[1][0].x, 100);
  EXPECT_EQ(line[2][0].x, 200);

  // Tops 10 pixels apart are two lines: the upper one first even when it lies further right.
  std::vector<Quad> two_lines{axis_box(10, 30, 60, 50), axis_box(100, 20, 160, 40)};
  sort_text_boxes(two_lines);
  EXPECT_EQ(two_lines[0][0].x, 100);
  EXPECT_EQ(two_lines[1][0].x, 10);

  // Top to bottom; equal tops by x.
  std::vector<Quad> page{axis_box(50, 300, 90, 320), axis_box(70, 100, 90, 120), axis_box(10, 100, 40, 120),
                         axis_box(10, 200, 90, 220)};
  sort_text_boxes(page);
  const std::vector<std::pair<double, double>> expected{{10, 100}, {70, 100}, {10, 200}, {50, 300}};
  for (size_t i = 0; i < page.size(); ++i) {
    EXPECT_EQ(page[i][0].x, expected[i].first) << "box " << i;
    EXPECT_EQ(page[i][0].y, expected[i].second) << "box " << i;
  }
}

TEST(EvalOcrPipelineTest, CropOfAnAxisAlignedBoxIsTheSubImage) {
  const RgbImage image = coordinate_image(60, 80);
  const RgbImage crop = crop_text_region(image, axis_box(12, 7, 52, 27));
  ASSERT_EQ(crop.height, 20);
  ASSERT_EQ(crop.width, 40);
  for (int64_t y = 0; y < crop.height; ++y) {
    for (int64_t x = 0; x < crop.width; ++x) {
      ASSERT_EQ(pixel(crop, y, x, 0), 12 + x) << "at crop (" << x << ", " << y << ")";
      ASSERT_EQ(pixel(crop, y, x, 1), 7 + y) << "at crop (" << x << ", " << y << ")";
      ASSERT_EQ(pixel(crop, y, x, 2), 77);
    }
  }
}

TEST(EvalOcrPipelineTest, CropOfARotatedRectangleIsUpright) {
  // A 100 x 40 rectangle turned by atan(3/4): u = (0.8, 0.6) along the text, v = (-0.6, 0.8) across.
  // The image holds red = 20 + 1.5 * (distance along u from the top-left corner) and green =
  // 30 + 4 * (distance along v), so the upright crop must hold red = 20 + 1.5 x, green = 30 + 4 y.
  const Point top_left{50, 30};
  const Quad box{{top_left, {130, 90}, {106, 122}, {26, 62}}};
  RgbImage image = coordinate_image(160, 160);
  for (int64_t y = 0; y < image.height; ++y) {
    for (int64_t x = 0; x < image.width; ++x) {
      const double dx = static_cast<double>(x) - top_left.x, dy = static_cast<double>(y) - top_left.y;
      const double along = dx * 0.8 + dy * 0.6, across = -dx * 0.6 + dy * 0.8;
      uint8_t* value = &image.pixels[static_cast<size_t>((y * image.width + x) * 3)];
      value[0] = static_cast<uint8_t>(std::clamp(std::lround(20 + 1.5 * along), 0L, 255L));
      value[1] = static_cast<uint8_t>(std::clamp(std::lround(30 + 4 * across), 0L, 255L));
    }
  }
  const RgbImage crop = crop_text_region(image, box);
  ASSERT_EQ(crop.height, 40);
  ASSERT_EQ(crop.width, 100);
  // Rounding the image (0.5) and the bilinear result (0.5): at most 1 off.
  constexpr int kRoundingTolerance = 1;
  for (int64_t y = 0; y < crop.height; ++y) {
    for (int64_t x = 0; x < crop.width; ++x) {
      ASSERT_NEAR(pixel(crop, y, x, 0), 20 + 1.5 * static_cast<double>(x), kRoundingTolerance)
          << "red at crop (" << x << ", " << y << ")";
      ASSERT_NEAR(pixel(crop, y, x, 1), 30 + 4 * static_cast<double>(y), kRoundingTolerance)
          << "green at crop (" << x << ", " << y << ")";
    }
  }
}

// The homography sending (0, 0), (w, 0), (w, h), (0, h) to the box's corners, by solving the 8
// equations of the direct linear transform with Gaussian elimination: an oracle independent of
// the closed-form square-to-quad mapping the pipeline uses.
struct Homography {
  std::array<double, 9> m{};
  Point operator()(double x, double y) const {
    const double w = m[6] * x + m[7] * y + m[8];
    return {(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w};
  }
};

Homography rectangle_to_quad(double width, double height, const Quad& box) {
  const Point from[4] = {{0, 0}, {width, 0}, {width, height}, {0, height}};
  std::array<std::array<double, 9>, 8> rows{};  // 8 unknowns (m[8] = 1) and the right-hand side
  for (size_t i = 0; i < 4; ++i) {
    const double x = from[i].x, y = from[i].y, u = box[i].x, v = box[i].y;
    rows[2 * i] = {x, y, 1, 0, 0, 0, -u * x, -u * y, u};
    rows[2 * i + 1] = {0, 0, 0, x, y, 1, -v * x, -v * y, v};
  }
  for (size_t column = 0; column < 8; ++column) {
    size_t pivot = column;
    for (size_t r = column + 1; r < 8; ++r)
      if (std::abs(rows[r][column]) > std::abs(rows[pivot][column])) pivot = r;
    std::swap(rows[column], rows[pivot]);
    for (size_t r = 0; r < 8; ++r) {
      if (r == column) continue;
      const double factor = rows[r][column] / rows[column][column];
      for (size_t c = column; c < 9; ++c) rows[r][c] -= factor * rows[column][c];
    }
  }
  Homography h;
  for (size_t i = 0; i < 8; ++i) h.m[i] = rows[i][8] / rows[i][i];
  h.m[8] = 1;
  return h;
}

TEST(EvalOcrPipelineTest, PerspectiveCropMatchesTheHomography) {
  // An irregular quadrilateral (no two sides parallel): a truly projective mapping.
  const Quad box{{{12, 8}, {118, 14}, {96, 55}, {20, 47}}};
  const RgbImage crop = crop_text_region(coordinate_image(64, 128), box);
  ASSERT_EQ(crop.width, 106);  // int(max(|top| = 106.17, |bottom| = 76.42))
  ASSERT_EQ(crop.height, 46);  // int(max(|left| = 39.81, |right| = 46.53))
  const Homography expected = rectangle_to_quad(106, 46, box);
  // The coordinate image is linear, so bilinear sampling is exact before rounding to 8 bits.
  constexpr double kRoundingTolerance = 0.5 + 1e-9;
  for (int64_t y = 0; y < crop.height; ++y) {
    for (int64_t x = 0; x < crop.width; ++x) {
      const Point source = expected(static_cast<double>(x), static_cast<double>(y));
      ASSERT_NEAR(pixel(crop, y, x, 0), source.x, kRoundingTolerance) << "crop (" << x << ", " << y << ")";
      ASSERT_NEAR(pixel(crop, y, x, 1), source.y, kRoundingTolerance) << "crop (" << x << ", " << y << ")";
    }
  }
}

TEST(EvalOcrPipelineTest, TallCropsTurnBy90Degrees) {
  const RgbImage image = coordinate_image(100, 100);
  // 20 wide, 30 high: ratio 1.5, turned counter-clockwise, so the crop's top-right pixel (image
  // (29, 10)) becomes the top-left one and the result is 20 high, 30 wide.
  const RgbImage tall = crop_text_region(image, axis_box(10, 10, 30, 40));
  ASSERT_EQ(tall.height, 20);
  ASSERT_EQ(tall.width, 30);
  EXPECT_EQ(pixel(tall, 0, 0, 0), 29);
  EXPECT_EQ(pixel(tall, 0, 0, 1), 10);
  EXPECT_EQ(pixel(tall, 19, 0, 0), 10);  // bottom-left: the crop's top-left pixel
  EXPECT_EQ(pixel(tall, 19, 0, 1), 10);
  EXPECT_EQ(pixel(tall, 0, 29, 0), 29);  // top-right: the crop's bottom-right pixel
  EXPECT_EQ(pixel(tall, 0, 29, 1), 39);
  // 20 wide, 29 high: ratio 1.45, kept as it is.
  const RgbImage kept = crop_text_region(image, axis_box(10, 10, 30, 39));
  EXPECT_EQ(kept.height, 29);
  EXPECT_EQ(kept.width, 20);
  EXPECT_EQ(pixel(kept, 0, 0, 0), 10);
}

TEST(EvalOcrPipelineTest, ImageRotations) {
  const RgbImage image = coordinate_image(2, 3);  // red = x, green = y
  const RgbImage upside_down = rotate_image_180(image);
  ASSERT_EQ(upside_down.height, 2);
  ASSERT_EQ(upside_down.width, 3);
  for (int64_t y = 0; y < 2; ++y) {
    for (int64_t x = 0; x < 3; ++x) {
      EXPECT_EQ(pixel(upside_down, y, x, 0), 2 - x);
      EXPECT_EQ(pixel(upside_down, y, x, 1), 1 - y);
    }
  }
  const RgbImage turned = rotate_image_90_counter_clockwise(image);
  ASSERT_EQ(turned.height, 3);
  ASSERT_EQ(turned.width, 2);
  for (int64_t y = 0; y < 3; ++y) {
    for (int64_t x = 0; x < 2; ++x) {
      EXPECT_EQ(pixel(turned, y, x, 0), 2 - y) << "row " << y << " column " << x;
      EXPECT_EQ(pixel(turned, y, x, 1), x) << "row " << y << " column " << x;
    }
  }
  // Four quarter turns and two half turns are the identity.
  RgbImage round_trip = image;
  for (int i = 0; i < 4; ++i) round_trip = rotate_image_90_counter_clockwise(round_trip);
  EXPECT_EQ(round_trip.pixels, image.pixels);
  EXPECT_EQ(rotate_image_180(upside_down).pixels, image.pixels);
}

TEST(EvalOcrPipelineTest, RecognitionInputWidth) {
  EXPECT_EQ(recognition_input_width(48, 100), 320);  // short lines are padded to PaddleOCR's 320
  EXPECT_EQ(recognition_input_width(3, 20), 320);    // exactly the 320 / 48 ratio
  EXPECT_EQ(recognition_input_width(48, 480), 480);
  EXPECT_EQ(recognition_input_width(30, 493), 788);  // int(48 * 16.43...)
  EXPECT_EQ(recognition_input_width(10, 1000), 4800);
  EXPECT_THROW(recognition_input_width(0, 10), Error);
  // Rounded up to a multiple: 320 is one of 64 already, 480 -> 512, 788 -> 832.
  EXPECT_EQ(recognition_input_width(48, 100, 64), 320);
  EXPECT_EQ(recognition_input_width(48, 480, 64), 512);
  EXPECT_EQ(recognition_input_width(30, 493, 64), 832);
  EXPECT_EQ(recognition_input_width(48, 448, 64), 448);
}

TEST(EvalOcrPipelineTest, CtcDecodingWithScore) {
  // Steps: argmax 1, 1 (repeat), 0 (blank), 2, 2 (repeat), 1.
  const Tensor probabilities = Tensor::from_vector<float>({1, 6, 3}, {
                                                                         0.1f,
                                                                         0.8f,
                                                                         0.1f,  //
                                                                         0.2f,
                                                                         0.7f,
                                                                         0.1f,  //
                                                                         0.9f,
                                                                         0.05f,
                                                                         0.05f,  //
                                                                         0.3f,
                                                                         0.1f,
                                                                         0.6f,  //
                                                                         0.1f,
                                                                         0.0f,
                                                                         0.9f,  //
                                                                         0.2f,
                                                                         0.5f,
                                                                         0.3f,
                                                                     });
  const CtcDecoded decoded = ctc_greedy_decode_with_score(probabilities);
  EXPECT_EQ(decoded.classes, (std::vector<int64_t>{1, 2, 1}));
  EXPECT_EQ(decoded.classes, ctc_greedy_decode(probabilities));
  // The kept steps' probabilities (first of each run): 0.8, 0.6, 0.5.
  EXPECT_NEAR(decoded.score, (0.8 + 0.6 + 0.5) / 3, 1e-6);

  const Tensor blanks = Tensor::from_vector<float>({2, 2}, {0.9f, 0.1f, 0.6f, 0.4f});
  const CtcDecoded nothing = ctc_greedy_decode_with_score(blanks);
  EXPECT_TRUE(nothing.classes.empty());
  EXPECT_EQ(nothing.score, 0);
  EXPECT_THROW(ctc_greedy_decode_with_score(Tensor::from_vector<float>({2, 1, 2}, {0, 1, 0, 1})), Error);
}

}  // namespace
}  // namespace octet
