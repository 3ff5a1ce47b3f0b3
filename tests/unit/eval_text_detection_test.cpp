// Tests of the text detection metric's library (src/eval/text_detection.h) on hand-computed cases:
// polygon area and clipping, convex hull, min-area rectangles, offsetting, DB post-processing of a
// synthetic probability map, PaddleOCR's IoU matching and label parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "eval/text_detection.h"
#include "octet/status.h"

namespace octet {
namespace {

// Geometry here is exact up to double rounding on small coordinates.
constexpr double kExact = 1e-9;

Polygon rectangle(double x0, double y0, double x1, double y1) { return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}; }

// The corners of a w x h rectangle centered at (cx, cy), rotated by `degrees`.
Polygon rotated_rectangle(double cx, double cy, double w, double h, double degrees) {
  const double angle = degrees * std::numbers::pi / 180;
  const double c = std::cos(angle), s = std::sin(angle);
  Polygon corners;
  for (const auto& [dx, dy] : {std::pair{-w / 2, -h / 2}, {w / 2, -h / 2}, {w / 2, h / 2}, {-w / 2, h / 2}})
    corners.push_back({cx + dx * c - dy * s, cy + dx * s + dy * c});
  return corners;
}

std::string describe(const Polygon& polygon) {
  std::string text;
  for (const Point& p : polygon) text += "(" + std::to_string(p.x) + ", " + std::to_string(p.y) + ") ";
  return text;
}

TEST(EvalTextDetectionTest, AreaPerimeterAndOrientation) {
  const Polygon square = rectangle(0, 0, 2, 2);  // positive order in a y-up frame
  EXPECT_NEAR(signed_polygon_area(square), 4, kExact);
  const Polygon reversed(square.rbegin(), square.rend());
  EXPECT_NEAR(signed_polygon_area(reversed), -4, kExact);
  EXPECT_NEAR(polygon_area(reversed), 4, kExact);
  EXPECT_NEAR(signed_polygon_area(with_positive_orientation(reversed)), 4, kExact);
  EXPECT_NEAR(polygon_perimeter(square), 8, kExact);
  EXPECT_NEAR(polygon_area({{0, 0}, {4, 0}, {0, 3}}), 6, kExact);
  EXPECT_NEAR(polygon_perimeter({{0, 0}, {4, 0}, {0, 3}}), 12, kExact);
  EXPECT_EQ(polygon_area({{0, 0}, {1, 1}}), 0);
}

TEST(EvalTextDetectionTest, SimplePolygons) {
  EXPECT_TRUE(is_simple_polygon(rectangle(0, 0, 2, 1)));
  EXPECT_TRUE(is_simple_polygon({{0, 0}, {4, 0}, {2, 1}, {4, 4}, {0, 4}}));  // concave is fine
  EXPECT_FALSE(is_simple_polygon({{0, 0}, {2, 2}, {2, 0}, {0, 2}}));         // bow tie
  EXPECT_FALSE(is_simple_polygon({{0, 0}, {1, 1}, {2, 2}, {3, 3}}));         // no area
  EXPECT_FALSE(is_simple_polygon({{0, 0}, {1, 0}}));
}

TEST(EvalTextDetectionTest, IntersectionArea) {
  EXPECT_NEAR(intersection_area(rectangle(0, 0, 2, 2), rectangle(1, 1, 3, 3)), 1, kExact);
  EXPECT_NEAR(intersection_area(rectangle(0, 0, 2, 2), rectangle(5, 5, 6, 6)), 0, kExact);
  EXPECT_NEAR(intersection_area(rectangle(0, 0, 4, 4), rectangle(1, 1, 2, 3)), 2, kExact);  // contained
  // Diamond |x| + |y| <= 1 (area 2) against the unit square: the triangle (0,0) (1,0) (0,1).
  const Polygon diamond{{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
  EXPECT_NEAR(intersection_area(diamond, rectangle(0, 0, 1, 1)), 0.5, kExact);
  // Either orientation of either polygon.
  const Polygon reversed_square{{0, 1}, {1, 1}, {1, 0}, {0, 0}};
  EXPECT_NEAR(intersection_area(Polygon(diamond.rbegin(), diamond.rend()), reversed_square), 0.5, kExact);
  // A concave subject: an L of area 3 (the 2x2 square minus its top-right cell) clipped by [0,2]x[0,1.5].
  const Polygon l_shape{{0, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 2}, {0, 2}};
  EXPECT_NEAR(intersection_area(l_shape, rectangle(0, 0, 2, 1.5)), 2.5, kExact);
}

TEST(EvalTextDetectionTest, ConvexHullDropsInteriorAndCollinearPoints) {
  const Polygon hull = convex_hull({{0, 0}, {1, 0}, {2, 0}, {2, 2}, {1, 1}, {0, 2}, {0, 1}, {2, 2}});
  ASSERT_EQ(hull.size(), 4u) << describe(hull);
  EXPECT_GT(signed_polygon_area(hull), 0);
  EXPECT_NEAR(polygon_area(hull), 4, kExact);
  EXPECT_EQ(convex_hull({{1, 1}, {1, 1}}).size(), 1u);
  EXPECT_EQ(convex_hull({{0, 0}, {1, 1}, {2, 2}}).size(), 2u);
}

TEST(EvalTextDetectionTest, MinAreaRectangleOfRotatedRectangles) {
  for (double degrees : {0.0, 10.0, 30.0, 45.0, 89.0, 120.0}) {
    Polygon corners = rotated_rectangle(50, 40, 40, 10, degrees);
    std::vector<Point> points(corners.begin(), corners.end());
    points.push_back({50, 40});  // interior points change nothing
    points.push_back({55, 41});
    const RotatedRectangle box = min_area_rectangle(points);
    const double longer = std::max(box.width, box.height), shorter = box.shorter_side();
    EXPECT_NEAR(longer, 40, 1e-6) << degrees << " degrees";
    EXPECT_NEAR(shorter, 10, 1e-6) << degrees << " degrees";
    const Polygon found(box.corners.begin(), box.corners.end());
    EXPECT_NEAR(intersection_area(found, corners), 400, 1e-6) << degrees << " degrees: " << describe(found);
  }
}

TEST(EvalTextDetectionTest, MinAreaRectangleOfATriangleAndDegenerateSets) {
  // Right triangle (0,0) (4,0) (0,3): the best rectangle has a side on the hypotenuse (5 x 2.4 = 12)
  // or on a leg (4 x 3 = 12): area 12 either way.
  const RotatedRectangle triangle = min_area_rectangle({{0, 0}, {4, 0}, {0, 3}});
  EXPECT_NEAR(triangle.width * triangle.height, 12, 1e-9);
  // A plus sign of pixel centers: the tilted square through its four tips has side sqrt(2), area 2,
  // half of the axis-aligned 2 x 2.
  const RotatedRectangle plus = min_area_rectangle({{1, 0}, {0, 1}, {1, 1}, {2, 1}, {1, 2}});
  EXPECT_NEAR(plus.width * plus.height, 2, 1e-9);
  const RotatedRectangle segment = min_area_rectangle({{0, 0}, {3, 4}, {3, 4}});
  EXPECT_NEAR(segment.width, 5, kExact);
  EXPECT_EQ(segment.shorter_side(), 0);
  EXPECT_EQ(min_area_rectangle({{7, 7}}).shorter_side(), 0);
}

TEST(EvalTextDetectionTest, UnclipDistanceAndOffset) {
  // 10 x 2: area 20, perimeter 24, ratio 1.5 -> 20 * 1.5 / 24 = 1.25.
  EXPECT_NEAR(unclip_distance(rectangle(0, 0, 10, 2), 1.5), 1.25, kExact);
  // A 2 x 2 square grown by 1 with round joins: 4 + 4 * 2 * 1 + pi (four quarter circles), the
  // arcs drawn as chords within the 0.25 tolerance (so slightly less than the true area).
  const Polygon grown = offset_convex_polygon(rectangle(0, 0, 2, 2), 1);
  const double exact_area = 12 + std::numbers::pi;
  EXPECT_LT(polygon_area(grown), exact_area);
  EXPECT_GT(polygon_area(grown), exact_area - 0.5);
  for (const Point& p : grown) {
    const double dx = std::max({0.0, -p.x, p.x - 2}), dy = std::max({0.0, -p.y, p.y - 2});
    EXPECT_NEAR(std::hypot(dx, dy), 1, 1e-9) << "every offset vertex lies at the distance from the square";
  }
  const RotatedRectangle box = min_area_rectangle(grown);
  EXPECT_NEAR(box.width, 4, 1e-9);
  EXPECT_NEAR(box.height, 4, 1e-9);
  // A reversed input is offset outwards too.
  const Polygon square = rectangle(0, 0, 2, 2);
  EXPECT_NEAR(polygon_area(offset_convex_polygon(Polygon(square.rbegin(), square.rend()), 1)), polygon_area(grown),
              1e-9);
}

// A probability map with a text kernel, a speck and a faint region.
Tensor synthetic_probability_map() {
  constexpr int64_t kHeight = 64, kWidth = 100;
  Tensor map(DataType::kFloat, {1, 1, kHeight, kWidth});
  float* p = map.data<float>();
  for (int64_t y = 10; y <= 19; ++y)
    for (int64_t x = 20; x <= 59; ++x) p[y * kWidth + x] = 0.9f;  // the text: centers 20..59 x 10..19
  for (int64_t y = 40; y <= 41; ++y)
    for (int64_t x = 10; x <= 11; ++x) p[y * kWidth + x] = 0.99f;  // shorter side 1 < min_size 3
  for (int64_t y = 40; y <= 50; ++y)
    for (int64_t x = 60; x <= 90; ++x) p[y * kWidth + x] = 0.5f;  // above thresh 0.3, score < box_thresh 0.6
  return map;
}

TEST(EvalTextDetectionTest, DbPostProcessFindsTheKernelAndGrowsIt) {
  const Tensor map = synthetic_probability_map();
  BoxMapping identity;
  identity.max_x = 100;
  identity.max_y = 64;
  const std::vector<DetectedBox> boxes = db_postprocess(map, identity);
  ASSERT_EQ(boxes.size(), 1u);
  EXPECT_NEAR(boxes[0].score, 0.9, 1e-6);
  // Kernel 39 x 9 (pixel centers): area 351, perimeter 96, grown by 351 * 1.5 / 96 = 5.484375:
  // x 14.515625 .. 64.484375 -> 15 .. 64, y 4.515625 .. 24.484375 -> 5 .. 24.
  EXPECT_NEAR(polygon_area(boxes[0].points), 49.0 * 19.0, kExact) << describe(boxes[0].points);
  EXPECT_NEAR(intersection_area(boxes[0].points, rectangle(15, 5, 64, 24)), 49.0 * 19.0, kExact);

  // Label coordinates at twice the map's resolution, shifted by 3 pixels: clipped to max.
  BoxMapping scaled{2, 2, 3, 3, 120, 1000};
  const std::vector<DetectedBox> scaled_boxes = db_postprocess(map, scaled);
  ASSERT_EQ(scaled_boxes.size(), 1u);
  // x: 2 * 14.515625 + 3 = 32.03 -> 32, 2 * 64.484375 + 3 = 131.97 -> 120 (clipped);
  // y: 2 * 4.515625 + 3 = 12.03 -> 12, 2 * 24.484375 + 3 = 51.97 -> 52.
  EXPECT_NEAR(intersection_area(scaled_boxes[0].points, rectangle(32, 12, 120, 52)), 88.0 * 40.0, kExact)
      << describe(scaled_boxes[0].points);

  DbPostProcessOptions lenient;
  lenient.box_threshold = 0.4;
  EXPECT_EQ(db_postprocess(map, identity, lenient).size(), 2u) << "the faint region passes a lower box threshold";
  EXPECT_THROW(db_postprocess(Tensor(DataType::kFloat, {1, 2, 4, 4}), identity), Error);
}

TEST(EvalTextDetectionTest, MatchingAsPaddleOcr) {
  const std::vector<TextRegion> truth{
      {rectangle(0, 0, 100, 20), false},
      {rectangle(0, 50, 100, 70), false},
      {rectangle(200, 0, 300, 40), true},             // don't care
      {{{0, 0}, {10, 10}, {10, 0}, {0, 10}}, false},  // bow tie: invalid, skipped
  };
  const std::vector<Polygon> detections{
      rectangle(2, 1, 98, 21),     // IoU 96*19 / (2000 + 96*20 - 96*19) = 0.8737: matched
      rectangle(210, 5, 260, 30),  // inside the don't-care region: not counted
      rectangle(400, 0, 450, 20),  // false positive
  };
  const DetectionCounts counts = match_detections(truth, detections);
  EXPECT_EQ(counts.ground_truth_care, 2);
  EXPECT_EQ(counts.detection_care, 2);
  EXPECT_EQ(counts.matched, 1);
  const DetectionScores scores = image_detection_scores(counts);
  EXPECT_DOUBLE_EQ(scores.precision, 0.5);
  EXPECT_DOUBLE_EQ(scores.recall, 0.5);
  EXPECT_DOUBLE_EQ(scores.hmean, 0.5);
}

TEST(EvalTextDetectionTest, MatchingIsOneToOneWithStrictIou) {
  // IoU exactly 0.5 (area 2 inside area 4) does not match: PaddleOCR compares iou > 0.5.
  EXPECT_EQ(match_detections({{rectangle(0, 0, 4, 1), false}}, {rectangle(0, 0, 2, 1)}).matched, 0);
  // Two detections on one region: one matches, the other is a false positive.
  const DetectionCounts twice =
      match_detections({{rectangle(0, 0, 10, 10), false}}, {rectangle(0, 0, 10, 10), rectangle(0, 0, 10, 9)});
  EXPECT_EQ(twice.matched, 1);
  EXPECT_EQ(twice.detection_care, 2);
}

TEST(EvalTextDetectionTest, ScoresWithoutGroundTruth) {
  EXPECT_DOUBLE_EQ(image_detection_scores({0, 0, 0}).hmean, 1);  // nothing to find, nothing found
  EXPECT_DOUBLE_EQ(image_detection_scores({0, 3, 0}).hmean, 0);
  EXPECT_DOUBLE_EQ(dataset_detection_scores({0, 0, 0}).hmean, 0);
  DetectionCounts totals{4, 2, 2};
  totals.add({6, 8, 6});  // 10 regions, 10 detections, 8 matched
  const DetectionScores scores = dataset_detection_scores(totals);
  EXPECT_DOUBLE_EQ(scores.precision, 0.8);
  EXPECT_DOUBLE_EQ(scores.recall, 0.8);
  EXPECT_NEAR(scores.hmean, 0.8, 1e-12);
}

TEST(EvalTextDetectionTest, ParsesPaddleOcrLabels) {
  const std::vector<TextRegion> regions =
      parse_detection_label(R"([{"transcription": "价格 12", "points": [[1, 2], [30, 2], [30, 12.5], [1, 12]]},)"
                            R"( {"transcription": "###", "points": [[0, 0], [5, 0], [5, 5], [0, 5], [-1, 2]]}])");
  ASSERT_EQ(regions.size(), 2u);
  EXPECT_FALSE(regions[0].dont_care);
  EXPECT_DOUBLE_EQ(regions[0].points[2].y, 12.5);
  EXPECT_TRUE(regions[1].dont_care);
  EXPECT_EQ(regions[1].points.size(), 5u);
  EXPECT_TRUE(parse_detection_label("[]").empty());

  const auto message = [](const std::string& json) {
    try {
      parse_detection_label(json);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  EXPECT_NE(message("[{\"points\": [[1, 2]").find("malformed detection label"), std::string::npos);
  EXPECT_NE(message("{\"points\": []}").find("JSON array"), std::string::npos);
  EXPECT_NE(message("[{\"transcription\": \"a\"}]").find("entry 0 has no \"points\""), std::string::npos);
  EXPECT_NE(message("[{\"points\": [[0, 0], [1, 0]]}]").find("2 points"), std::string::npos);
  EXPECT_NE(message("[{\"points\": [[0, 0], [1, 0], [1]]}]").find("not [x, y]"), std::string::npos);
  EXPECT_NE(message("[{\"transcription\": 5, \"points\": [[0, 0], [1, 0], [1, 1]]}]").find("not a string"),
            std::string::npos);
}

}  // namespace
}  // namespace octet
