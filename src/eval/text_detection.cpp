#include "eval/text_detection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>

#include "octet/status.h"

namespace octet {
namespace {

// PaddleOCR's DetectionIoUEvaluator: iou_constraint and area_precision_constraint.
constexpr double kIouConstraint = 0.5;
constexpr double kDontCareAreaConstraint = 0.5;
// Transcriptions marking a region that neither counts as missed nor as a false detection.
constexpr const char* kDontCareTranscriptions[] = {"###", "*"};
// Slack for "on the boundary" tests on coordinates of a few thousand pixels.
constexpr double kGeometryEpsilon = 1e-9;

Point operator-(Point a, Point b) { return {a.x - b.x, a.y - b.y}; }
Point operator+(Point a, Point b) { return {a.x + b.x, a.y + b.y}; }
Point operator*(Point a, double s) { return {a.x * s, a.y * s}; }
double dot(Point a, Point b) { return a.x * b.x + a.y * b.y; }
double cross(Point a, Point b) { return a.x * b.y - a.y * b.x; }
// > 0 when o -> a -> b turns to the positive side.
double turn(Point o, Point a, Point b) { return cross(a - o, b - o); }
double length(Point a) { return std::hypot(a.x, a.y); }

bool on_segment(Point p, Point a, Point b) {
  return std::min(a.x, b.x) - kGeometryEpsilon <= p.x && p.x <= std::max(a.x, b.x) + kGeometryEpsilon &&
         std::min(a.y, b.y) - kGeometryEpsilon <= p.y && p.y <= std::max(a.y, b.y) + kGeometryEpsilon;
}

int sign(double value) { return value > kGeometryEpsilon ? 1 : value < -kGeometryEpsilon ? -1 : 0; }

// Whether closed segments ab and cd share a point.
bool segments_touch(Point a, Point b, Point c, Point d) {
  const int d1 = sign(turn(c, d, a)), d2 = sign(turn(c, d, b));
  const int d3 = sign(turn(a, b, c)), d4 = sign(turn(a, b, d));
  if (d1 * d2 < 0 && d3 * d4 < 0) return true;
  return (d1 == 0 && on_segment(a, c, d)) || (d2 == 0 && on_segment(b, c, d)) || (d3 == 0 && on_segment(c, a, b)) ||
         (d4 == 0 && on_segment(d, a, b));
}

// Where the segment from a to b crosses the line through c and d (a and b on different sides).
Point line_crossing(Point a, Point b, Point c, Point d) {
  const double side_a = turn(c, d, a);
  const double side_b = turn(c, d, b);
  const double t = side_a / (side_a - side_b);
  return a + (b - a) * t;
}

// Whether p lies inside or on a convex polygon of positive orientation.
bool inside_convex(const Polygon& convex, Point p) {
  for (size_t i = 0; i < convex.size(); ++i) {
    const Point a = convex[i];
    const Point b = convex[(i + 1) % convex.size()];
    if (turn(a, b, p) < -kGeometryEpsilon * std::max(1.0, length(b - a))) return false;
  }
  return true;
}

double round_half_to_even(double value) { return std::nearbyint(value); }

}  // namespace

// ---- Geometry ------------------------------------------------------------------------------------

double signed_polygon_area(const Polygon& polygon) {
  if (polygon.size() < 3) return 0;
  double twice_area = 0;
  for (size_t i = 0; i < polygon.size(); ++i) twice_area += cross(polygon[i], polygon[(i + 1) % polygon.size()]);
  return twice_area / 2;
}

double polygon_area(const Polygon& polygon) { return std::abs(signed_polygon_area(polygon)); }

double polygon_perimeter(const Polygon& polygon) {
  if (polygon.size() < 2) return 0;
  double perimeter = 0;
  for (size_t i = 0; i < polygon.size(); ++i) perimeter += length(polygon[(i + 1) % polygon.size()] - polygon[i]);
  return perimeter;
}

bool is_simple_polygon(const Polygon& polygon) {
  const size_t n = polygon.size();
  if (n < 3 || polygon_area(polygon) <= kGeometryEpsilon) return false;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 2; j < n; ++j) {
      if (i == 0 && j == n - 1) continue;  // adjacent through the closing edge
      if (segments_touch(polygon[i], polygon[(i + 1) % n], polygon[j], polygon[(j + 1) % n])) return false;
    }
  }
  return true;
}

Polygon with_positive_orientation(Polygon polygon) {
  if (signed_polygon_area(polygon) < 0) std::reverse(polygon.begin(), polygon.end());
  return polygon;
}

Polygon convex_hull(std::vector<Point> points) {
  std::sort(points.begin(), points.end(), [](Point a, Point b) { return a.x < b.x || (a.x == b.x && a.y < b.y); });
  points.erase(std::unique(points.begin(), points.end(), [](Point a, Point b) { return a.x == b.x && a.y == b.y; }),
               points.end());
  if (points.size() < 3) return points;
  Polygon hull(2 * points.size());
  size_t size = 0;
  for (const Point& p : points) {  // lower chain
    while (size >= 2 && turn(hull[size - 2], hull[size - 1], p) <= 0) --size;
    hull[size++] = p;
  }
  const size_t lower_size = size + 1;
  for (size_t i = points.size() - 1; i-- > 0;) {  // upper chain
    while (size >= lower_size && turn(hull[size - 2], hull[size - 1], points[i]) <= 0) --size;
    hull[size++] = points[i];
  }
  hull.resize(size - 1);  // the last point repeats the first
  return hull;
}

double intersection_area(const Polygon& subject, const Polygon& convex_clip) {
  if (subject.size() < 3 || convex_clip.size() < 3) return 0;
  Polygon clipped = with_positive_orientation(subject);
  const Polygon clip = with_positive_orientation(convex_clip);
  for (size_t i = 0; i < clip.size() && !clipped.empty(); ++i) {
    const Point a = clip[i];
    const Point b = clip[(i + 1) % clip.size()];
    Polygon kept;
    for (size_t j = 0; j < clipped.size(); ++j) {
      const Point current = clipped[j];
      const Point next = clipped[(j + 1) % clipped.size()];
      const bool current_inside = turn(a, b, current) >= 0;
      const bool next_inside = turn(a, b, next) >= 0;
      if (current_inside) kept.push_back(current);
      if (current_inside != next_inside) kept.push_back(line_crossing(current, next, a, b));
    }
    clipped = std::move(kept);
  }
  return polygon_area(clipped);
}

RotatedRectangle min_area_rectangle(const std::vector<Point>& points) {
  RotatedRectangle best;
  const Polygon hull = convex_hull(points);
  const size_t n = hull.size();
  if (n == 0) return best;
  if (n == 1) {
    best.corners = {hull[0], hull[0], hull[0], hull[0]};
    return best;
  }
  if (n == 2) {
    best.corners = {hull[0], hull[1], hull[1], hull[0]};
    best.width = length(hull[1] - hull[0]);
    return best;
  }
  // Rotating calipers: one side of the best rectangle lies on a hull edge. For each edge (in hull
  // order) the extreme points along the edge (right, left) and away from it (top) only move forward.
  const auto next = [n](size_t i) { return (i + 1) % n; };
  double best_area = std::numeric_limits<double>::infinity();
  size_t right = 1, top = 1, left = 1;
  for (size_t edge = 0; edge < n; ++edge) {
    const Point origin = hull[edge];
    const Point direction = hull[next(edge)] - origin;
    const Point u = direction * (1.0 / length(direction));
    const Point normal{-u.y, u.x};  // towards the interior
    const auto along = [&](size_t i) { return dot(hull[i] - origin, u); };
    const auto away = [&](size_t i) { return dot(hull[i] - origin, normal); };
    if (edge == 0) right = next(edge);
    for (size_t steps = 0; steps < n && along(next(right)) > along(right); ++steps) right = next(right);
    if (edge == 0) top = right;
    for (size_t steps = 0; steps < n && away(next(top)) > away(top); ++steps) top = next(top);
    if (edge == 0) left = top;
    for (size_t steps = 0; steps < n && along(next(left)) < along(left); ++steps) left = next(left);
    const double min_along = along(left), max_along = along(right), max_away = away(top);
    const double area = (max_along - min_along) * max_away;
    if (area < best_area) {
      best_area = area;
      best.width = max_along - min_along;
      best.height = max_away;
      const auto corner = [&](double s, double t) { return origin + u * s + normal * t; };
      best.corners = {corner(min_along, 0), corner(max_along, 0), corner(max_along, max_away),
                      corner(min_along, max_away)};
    }
  }
  return best;
}

double unclip_distance(const Polygon& polygon, double ratio) {
  const double perimeter = polygon_perimeter(polygon);
  return perimeter == 0 ? 0 : polygon_area(polygon) * ratio / perimeter;
}

Polygon offset_convex_polygon(const Polygon& convex, double distance, double arc_tolerance) {
  const Polygon polygon = with_positive_orientation(convex);
  const size_t n = polygon.size();
  if (n < 3 || distance <= 0) return polygon;
  // pyclipper's arc step: the chord of one step deviates from the arc by at most arc_tolerance.
  const double tolerance = std::min(arc_tolerance, distance);
  const double step_angle = 2 * std::acos(1 - tolerance / distance);
  const auto outward_normal = [&](size_t edge) {
    const Point direction = polygon[(edge + 1) % n] - polygon[edge];
    const double edge_length = length(direction);
    return edge_length == 0 ? Point{} : Point{direction.y / edge_length, -direction.x / edge_length};
  };
  Polygon result;
  for (size_t i = 0; i < n; ++i) {
    const Point normal_in = outward_normal((i + n - 1) % n);
    const Point normal_out = outward_normal(i);
    const double turn_angle = std::atan2(cross(normal_in, normal_out), dot(normal_in, normal_out));
    const int segments = std::max(1, static_cast<int>(std::ceil(std::abs(turn_angle) / step_angle)));
    const double start = std::atan2(normal_in.y, normal_in.x);
    for (int k = 0; k <= segments; ++k) {
      const double angle = start + turn_angle * k / segments;
      result.push_back(polygon[i] + Point{std::cos(angle), std::sin(angle)} * distance);
    }
  }
  return result;
}

// ---- DB post-processing --------------------------------------------------------------------------

namespace {

// Mean of `map` over the pixels whose centers lie in the convex `box` (PaddleOCR's box_score_fast,
// which fills the box polygon as a mask over its bounding rectangle).
double box_score(const float* map, int64_t height, int64_t width, const Polygon& box) {
  double min_x = box[0].x, max_x = box[0].x, min_y = box[0].y, max_y = box[0].y;
  for (const Point& p : box) {
    min_x = std::min(min_x, p.x), max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y), max_y = std::max(max_y, p.y);
  }
  const auto clamp_index = [](double v, int64_t size) {
    return std::clamp<int64_t>(static_cast<int64_t>(v), 0, size - 1);
  };
  const int64_t x0 = clamp_index(std::floor(min_x), width), x1 = clamp_index(std::ceil(max_x), width);
  const int64_t y0 = clamp_index(std::floor(min_y), height), y1 = clamp_index(std::ceil(max_y), height);
  double sum = 0;
  int64_t count = 0;
  for (int64_t y = y0; y <= y1; ++y) {
    for (int64_t x = x0; x <= x1; ++x) {
      if (!inside_convex(box, {static_cast<double>(x), static_cast<double>(y)})) continue;
      sum += map[y * width + x];
      ++count;
    }
  }
  return count == 0 ? 0 : sum / count;
}

// Per 8-connected component of `text` (raster order of each component's first pixel), the points
// whose convex hull is the component's: its leftmost and rightmost pixel of every row.
std::vector<std::vector<Point>> component_outlines(const std::vector<uint8_t>& text, int64_t height, int64_t width,
                                                   int64_t max_components) {
  std::vector<std::vector<Point>> outlines;
  std::vector<uint8_t> visited(text.size(), 0);
  std::vector<int64_t> stack;
  std::vector<int64_t> row_min(static_cast<size_t>(height)), row_max(static_cast<size_t>(height));
  for (int64_t start = 0; start < height * width && static_cast<int64_t>(outlines.size()) < max_components; ++start) {
    if (!text[start] || visited[start]) continue;
    std::fill(row_min.begin(), row_min.end(), width);
    std::fill(row_max.begin(), row_max.end(), -1);
    int64_t first_row = start / width, last_row = first_row;
    visited[start] = 1;
    stack.assign(1, start);
    while (!stack.empty()) {
      const int64_t pixel = stack.back();
      stack.pop_back();
      const int64_t y = pixel / width, x = pixel % width;
      row_min[y] = std::min(row_min[y], x);
      row_max[y] = std::max(row_max[y], x);
      last_row = std::max(last_row, y);
      for (int64_t dy = -1; dy <= 1; ++dy) {
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t ny = y + dy, nx = x + dx;
          if (ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
          const int64_t neighbor = ny * width + nx;
          if (text[neighbor] && !visited[neighbor]) {
            visited[neighbor] = 1;
            stack.push_back(neighbor);
          }
        }
      }
    }
    std::vector<Point> outline;
    for (int64_t y = first_row; y <= last_row; ++y) {
      if (row_max[y] < 0) continue;
      outline.push_back({static_cast<double>(row_min[y]), static_cast<double>(y)});
      if (row_max[y] != row_min[y]) outline.push_back({static_cast<double>(row_max[y]), static_cast<double>(y)});
    }
    outlines.push_back(std::move(outline));
  }
  return outlines;
}

Polygon corners_of(const RotatedRectangle& rectangle) {
  return Polygon(rectangle.corners.begin(), rectangle.corners.end());
}

}  // namespace

std::vector<DetectedBox> db_postprocess(const Tensor& probability_map, const BoxMapping& mapping,
                                        const DbPostProcessOptions& options) {
  const Shape& shape = probability_map.shape();
  check(probability_map.dtype() == DataType::kFloat, "text detection: the probability map must be float");
  const bool batch_form = shape.size() == 4 && shape[0] == 1 && shape[1] == 1;
  check(batch_form || shape.size() == 2, "text detection: expected a probability map [1, 1, H, W] or [H, W], got ",
        shape_to_string(shape));
  const int64_t height = shape[shape.size() - 2], width = shape[shape.size() - 1];
  const float* map = probability_map.data<float>();
  std::vector<uint8_t> text(static_cast<size_t>(height * width));
  for (int64_t i = 0; i < height * width; ++i) text[i] = map[i] > options.threshold ? 1 : 0;

  std::vector<DetectedBox> boxes;
  for (const std::vector<Point>& outline : component_outlines(text, height, width, options.max_candidates)) {
    const RotatedRectangle kernel = min_area_rectangle(outline);
    if (kernel.shorter_side() < options.min_size) continue;
    const Polygon kernel_box = corners_of(kernel);
    const double score = box_score(map, height, width, kernel_box);
    if (score < options.box_threshold) continue;
    const Polygon grown = offset_convex_polygon(kernel_box, unclip_distance(kernel_box, options.unclip_ratio));
    const RotatedRectangle box = min_area_rectangle(grown);
    if (box.shorter_side() < options.min_size + 2) continue;
    DetectedBox detected;
    detected.score = score;
    for (const Point& corner : box.corners) {
      detected.points.push_back(
          {std::clamp(round_half_to_even(corner.x * mapping.scale_x + mapping.offset_x), 0.0, mapping.max_x),
           std::clamp(round_half_to_even(corner.y * mapping.scale_y + mapping.offset_y), 0.0, mapping.max_y)});
    }
    boxes.push_back(std::move(detected));
  }
  return boxes;
}

// ---- Ground truth and matching -------------------------------------------------------------------

std::vector<TextRegion> parse_detection_label(const std::string& json_text) {
  nlohmann::json label;
  try {
    label = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& error) {
    throw Error(concat("malformed detection label (PaddleOCR det JSON expected): ", error.what()));
  }
  check(label.is_array(), "detection label: expected a JSON array of {\"transcription\", \"points\"} objects");
  std::vector<TextRegion> regions;
  for (size_t i = 0; i < label.size(); ++i) {
    const nlohmann::json& entry = label[i];
    check(entry.is_object(), "detection label: entry ", i, " is not an object");
    TextRegion region;
    if (entry.contains("transcription")) {
      check(entry["transcription"].is_string(), "detection label: entry ", i, ": \"transcription\" is not a string");
      const std::string transcription = entry["transcription"].get<std::string>();
      for (const char* mark : kDontCareTranscriptions) region.dont_care = region.dont_care || transcription == mark;
    }
    check(entry.contains("points") && entry["points"].is_array(), "detection label: entry ", i,
          " has no \"points\" array");
    const nlohmann::json& points = entry["points"];
    check(points.size() >= 3, "detection label: entry ", i, " has ", points.size(), " points (at least 3 needed)");
    for (const nlohmann::json& point : points) {
      check(point.is_array() && point.size() == 2 && point[0].is_number() && point[1].is_number(),
            "detection label: entry ", i, ": a point is not [x, y]: ", point.dump());
      region.points.push_back({point[0].get<double>(), point[1].get<double>()});
    }
    regions.push_back(std::move(region));
  }
  return regions;
}

void DetectionCounts::add(const DetectionCounts& other) {
  ground_truth_care += other.ground_truth_care;
  detection_care += other.detection_care;
  matched += other.matched;
}

DetectionCounts match_detections(const std::vector<TextRegion>& ground_truth, const std::vector<Polygon>& detections) {
  std::vector<Polygon> truths;
  std::vector<bool> truth_dont_care;
  for (const TextRegion& region : ground_truth) {
    if (!is_simple_polygon(region.points)) continue;
    truths.push_back(with_positive_orientation(region.points));
    truth_dont_care.push_back(region.dont_care);
  }
  std::vector<Polygon> boxes;
  std::vector<bool> box_dont_care;
  for (const Polygon& detection : detections) {
    if (!is_simple_polygon(detection)) continue;
    const Polygon box = with_positive_orientation(detection);
    const double box_area = polygon_area(box);
    bool dont_care = false;
    for (size_t t = 0; t < truths.size() && !dont_care; ++t)
      dont_care = truth_dont_care[t] && intersection_area(truths[t], box) / box_area > kDontCareAreaConstraint;
    boxes.push_back(box);
    box_dont_care.push_back(dont_care);
  }

  DetectionCounts counts;
  std::vector<bool> truth_matched(truths.size(), false), box_matched(boxes.size(), false);
  for (size_t t = 0; t < truths.size(); ++t) {
    for (size_t b = 0; b < boxes.size(); ++b) {
      if (truth_matched[t] || box_matched[b] || truth_dont_care[t] || box_dont_care[b]) continue;
      const double intersection = intersection_area(truths[t], boxes[b]);
      const double union_area = polygon_area(truths[t]) + polygon_area(boxes[b]) - intersection;
      if (union_area > 0 && intersection / union_area > kIouConstraint) {
        truth_matched[t] = box_matched[b] = true;
        ++counts.matched;
      }
    }
  }
  counts.ground_truth_care = static_cast<int64_t>(std::count(truth_dont_care.begin(), truth_dont_care.end(), false));
  counts.detection_care = static_cast<int64_t>(std::count(box_dont_care.begin(), box_dont_care.end(), false));
  return counts;
}

namespace {
double harmonic_mean(double precision, double recall) {
  return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
}
}  // namespace

DetectionScores image_detection_scores(const DetectionCounts& counts) {
  DetectionScores scores;
  if (counts.ground_truth_care == 0) {
    scores.recall = 1;
    scores.precision = counts.detection_care > 0 ? 0 : 1;
  } else {
    scores.recall = static_cast<double>(counts.matched) / counts.ground_truth_care;
    scores.precision = counts.detection_care == 0 ? 0 : static_cast<double>(counts.matched) / counts.detection_care;
  }
  scores.hmean = harmonic_mean(scores.precision, scores.recall);
  return scores;
}

DetectionScores dataset_detection_scores(const DetectionCounts& totals) {
  DetectionScores scores;
  scores.recall = totals.ground_truth_care == 0 ? 0 : static_cast<double>(totals.matched) / totals.ground_truth_care;
  scores.precision = totals.detection_care == 0 ? 0 : static_cast<double>(totals.matched) / totals.detection_care;
  scores.hmean = harmonic_mean(scores.precision, scores.recall);
  return scores;
}

}  // namespace octet
