// Text detection accuracy as PaddleOCR measures it (metric `text-det-hmean` of `octet eval`):
//   1. DB post-processing (PaddleOCR's DBPostProcess) turns the detector's probability map into
//      boxes: binarize, connected components, min-area rectangle, box score, unclip, rectangle again.
//   2. The boxes are matched against the labeled quadrilaterals as PaddleOCR's
//      DetectionIoUEvaluator does: one-to-one, IoU > 0.5, don't-care regions ("###") excluded.
// And the plane geometry both need (polygon area, clipping, convex hull, rotating calipers, offset).
//
// Coordinates are pixels: x grows to the right (column), y downwards (row); a pixel's center is at
// integer coordinates, as in OpenCV.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "octet/tensor.h"

namespace octet {

// ---- Geometry ------------------------------------------------------------------------------------

struct Point {
  double x = 0;
  double y = 0;
};
// A closed polygon: the last point connects back to the first.
using Polygon = std::vector<Point>;

// Shoelace sum: positive when the points turn counter-clockwise in a y-up frame (which is clockwise
// on screen, where y grows downwards). 0 for fewer than 3 points.
double signed_polygon_area(const Polygon& polygon);
double polygon_area(const Polygon& polygon);
double polygon_perimeter(const Polygon& polygon);

// Whether the polygon is usable as a region (what shapely's is_valid means for PaddleOCR's labels):
// at least 3 points, a non-zero area, and no two non-adjacent edges touching or crossing.
bool is_simple_polygon(const Polygon& polygon);

// The same points in positive (signed_polygon_area > 0) order.
Polygon with_positive_orientation(Polygon polygon);

// Convex hull (Andrew's monotone chain): positive orientation, no repeated or collinear points.
// 0, 1 or 2 points for degenerate inputs.
Polygon convex_hull(std::vector<Point> points);

// Area of subject ∩ clip where `clip` is convex (Sutherland-Hodgman); `subject` may be any simple
// polygon. Either orientation is accepted.
double intersection_area(const Polygon& subject, const Polygon& convex_clip);

// The minimum-area enclosing rectangle of a point set (cv2.minAreaRect): rotating calipers over the
// convex hull's edges. A single point or a segment gives a rectangle with zero height (and width).
struct RotatedRectangle {
  std::array<Point, 4> corners;  // in order around the rectangle, positive orientation
  double width = 0;              // along the first side
  double height = 0;
  double shorter_side() const { return width < height ? width : height; }
};
RotatedRectangle min_area_rectangle(const std::vector<Point>& points);

// The distance PaddleOCR's unclip pushes a box outwards: area * ratio / perimeter.
double unclip_distance(const Polygon& polygon, double ratio);

// The convex polygon offset outwards by `distance` with round joins (pyclipper's JT_ROUND on a
// closed polygon): each edge moves out along its normal and each corner becomes an arc, drawn
// with segments deviating at most `arc_tolerance` from the true circle (pyclipper's default 0.25).
Polygon offset_convex_polygon(const Polygon& convex, double distance, double arc_tolerance = 0.25);

// ---- DB post-processing --------------------------------------------------------------------------

// PaddleOCR's DBPostProcess defaults for PP-OCR det models.
struct DbPostProcessOptions {
  double threshold = 0.3;         // probability above which a pixel is text
  double box_threshold = 0.6;     // minimum mean probability inside a box
  double unclip_ratio = 1.5;      // how far the shrunk text kernel is grown back
  int64_t max_candidates = 1000;  // components considered, in raster order
  double min_size = 3;            // boxes with a shorter side below this are dropped
};

// Maps probability-map coordinates to label coordinates: label = map * scale + offset, rounded to
// the nearest integer (half to even, like numpy) and clipped to [0, max].
struct BoxMapping {
  double scale_x = 1;
  double scale_y = 1;
  double offset_x = 0;
  double offset_y = 0;
  double max_x = 0;
  double max_y = 0;
};

struct DetectedBox {
  Polygon points;  // 4 corners in label coordinates
  double score = 0;
};

// Boxes from a probability map [1, 1, H, W] or [H, W] (float) as DBPostProcess with score_mode
// "fast": components are 8-connected regions above the threshold, the box score is the mean
// probability of the pixels whose centers lie in the (un-grown) rectangle.
std::vector<DetectedBox> db_postprocess(const Tensor& probability_map, const BoxMapping& mapping,
                                        const DbPostProcessOptions& options = {});

// ---- Ground truth and matching -------------------------------------------------------------------

struct TextRegion {
  Polygon points;
  bool dont_care = false;  // transcription "###" or "*" (PaddleOCR's ignore tags)
};

// Parses a PaddleOCR det label: a JSON array of {"transcription": "...", "points": [[x, y], ...]}
// with at least 3 points each. Throws Error describing what is malformed (not which file: callers
// add that).
std::vector<TextRegion> parse_detection_label(const std::string& json_text);

// The counts DetectionIoUEvaluator keeps per image and sums over a data set.
struct DetectionCounts {
  int64_t ground_truth_care = 0;  // valid labeled regions that are not don't-care
  int64_t detection_care = 0;     // valid detections not mostly (> 50% of their area) inside a don't-care region
  int64_t matched = 0;            // one-to-one pairs with IoU > 0.5
  void add(const DetectionCounts& other);
};

// PaddleOCR's evaluate_image: invalid polygons (see is_simple_polygon) are skipped, detections
// covering a don't-care region by more than half of their own area are don't-care, then pairs are
// matched greedily in (ground truth, detection) order when their IoU exceeds 0.5 (strictly, as
// PaddleOCR's iou_constraint) and neither is matched or don't-care.
DetectionCounts match_detections(const std::vector<TextRegion>& ground_truth, const std::vector<Polygon>& detections);

struct DetectionScores {
  double precision = 0;
  double recall = 0;
  double hmean = 0;
};
// Per image, as evaluate_image reports it: with no ground truth to find, recall is 1 and precision
// is 1 when nothing was detected (0 otherwise).
DetectionScores image_detection_scores(const DetectionCounts& counts);
// Over a data set, as combine_results: empty denominators give 0.
DetectionScores dataset_detection_scores(const DetectionCounts& totals);

}  // namespace octet
