// `octet ocr IMAGE... --det MODEL [--cls MODEL] --rec MODEL --dict FILE [--threads N] [--drop-score S]
// [--json FILE]`: the full OCR pipeline (detect -> crop -> classify direction -> recognize) on images,
// one line per text line (the library does the work: src/eval/ocr_pipeline.h).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "eval/ocr_pipeline.h"

namespace octet::cli {
namespace {

constexpr const char* kDescription =
    "Read the text of images with PaddleOCR's pipeline: the DB detector finds text boxes, each box is warped to an "
    "upright crop, the direction classifier (optional) turns upside-down crops, the CTC recognizer reads them. "
    "Prints per image one line per text line in reading order: 'x1,y1 x2,y2 x3,y3 x4,y4<TAB>score<TAB>text' "
    "(corners clockwise from the top-left, image pixels), then the time of each stage.";

std::string formatted(const char* format, double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string box_text(const Quad& box) {
  std::string text;
  for (const Point& corner : box) {
    if (!text.empty()) text += " ";
    text += formatted("%.0f", corner.x) + "," + formatted("%.0f", corner.y);
  }
  return text;
}

std::string times_text(const OcrStageTimes& times, bool with_classifier) {
  std::string text =
      "det " + formatted("%.1f", times.detection_ms) + " ms, crop " + formatted("%.1f", times.crop_ms) + " ms, ";
  if (with_classifier) text += "cls " + formatted("%.1f", times.classification_ms) + " ms, ";
  return text + "rec " + formatted("%.1f", times.recognition_ms) + " ms, total " + formatted("%.1f", times.total_ms) +
         " ms";
}

class OcrCommand : public Command {
 public:
  explicit OcrCommand(CLI::App& parent) {
    app_ = parent.add_subcommand("ocr", kDescription);
    app_->add_option("images", image_paths_, "Image files (.png, .jpg, .bmp)")->required();
    app_->add_option("--det", files_.detector, "Text detector (PP-OCRv4 det, FP32 or INT8 ONNX)")->required();
    app_->add_option("--cls", files_.classifier, "Direction classifier (ppocr cls); without it no crop is turned");
    app_->add_option("--rec", files_.recognizer, "Text recognizer (PP-OCRv4 rec, CTC)")->required();
    app_->add_option("--dict", files_.dictionary, "The recognizer's character dictionary (ppocr_keys_v1.txt)")
        ->required();
    app_->add_option("--drop-score", options_.drop_score,
                     "Lines whose recognition score is lower are dropped (default 0.5, PaddleOCR's drop_score)")
        ->check(non_negative_number());
    app_->add_option("--json", json_path_, "Also write the lines, boxes, scores and times to this JSON file");
    app_->add_option("--threads", options_.threads, "Threads (default: all cores)")->check(positive_integer());
  }
  CLI::App& app() override { return *app_; }

  int run() override {
    // A mistyped image path fails before the models load; images are decoded one at a time (a
    // long list of pages need not fit in memory at once).
    for (const std::string& path : image_paths_)
      check(std::filesystem::is_regular_file(path), path, ": no such image file");

    const auto load_start = std::chrono::steady_clock::now();
    OcrPipeline pipeline(files_, options_);
    const double load_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - load_start).count();
    std::cout << "models: det " << files_.detector << (pipeline.has_classifier() ? ", cls " + files_.classifier : "")
              << ", rec " << files_.recognizer << " (loaded in " << formatted("%.0f", load_ms) << " ms)\n";

    nlohmann::ordered_json json_images = nlohmann::ordered_json::array();
    for (const std::string& path : image_paths_) {
      const RgbImage image = decode_image_file(path);
      const OcrResult result = with_file_context(path, [&] { return pipeline.run(image); });
      std::cout << "== " << path << " (" << image.width << "x" << image.height << "): " << result.lines.size()
                << " lines";
      const int64_t dropped = result.detected_boxes - static_cast<int64_t>(result.lines.size());
      if (dropped > 0) std::cout << " (" << dropped << " more scored below " << options_.drop_score << ")";
      std::cout << "\n";
      for (const OcrLine& line : result.lines)
        std::cout << box_text(line.box) << "\t" << formatted("%.3f", line.score) << "\t" << line.text << "\n";
      std::cout << "time: " << times_text(result.times, pipeline.has_classifier()) << "\n";
      json_images.push_back(image_json(path, image, result));
    }

    if (!json_path_.empty()) {
      nlohmann::ordered_json json = {
          {"detector", files_.detector},
          {"classifier",
           files_.classifier.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(files_.classifier)},
          {"recognizer", files_.recognizer},
          {"dictionary", files_.dictionary},
          {"drop_score", options_.drop_score},
          {"load_ms", load_ms},
          {"images", json_images}};
      write_text_file_atomically(json_path_, json.dump(2) + "\n");
      std::cout << "results written to " << json_path_ << "\n";
    }
    return kExitSuccess;
  }

 private:
  static nlohmann::ordered_json image_json(const std::string& path, const RgbImage& image, const OcrResult& result) {
    nlohmann::ordered_json lines = nlohmann::ordered_json::array();
    for (const OcrLine& line : result.lines) {
      nlohmann::ordered_json box = nlohmann::ordered_json::array();
      for (const Point& corner : line.box) box.push_back({corner.x, corner.y});
      lines.push_back({{"box", box}, {"text", line.text}, {"score", line.score}, {"rotated_180", line.rotated_180}});
    }
    const OcrStageTimes& times = result.times;
    return {{"image", path},
            {"width", image.width},
            {"height", image.height},
            {"detected_boxes", result.detected_boxes},
            {"lines", lines},
            {"time_ms",
             {{"det", times.detection_ms},
              {"crop", times.crop_ms},
              {"cls", times.classification_ms},
              {"rec", times.recognition_ms},
              {"total", times.total_ms}}}};
  }

  CLI::App* app_ = nullptr;
  std::vector<std::string> image_paths_;
  OcrModelFiles files_;
  OcrPipelineOptions options_;
  std::string json_path_;
};

}  // namespace

std::unique_ptr<Command> make_ocr_command(CLI::App& parent) { return std::make_unique<OcrCommand>(parent); }

}  // namespace octet::cli
