// Image preprocessing for `octet eval --preprocess SPEC` and the quantizer's calibration images:
// decoded pixels -> a float model input, described by a short text SPEC.
//
// A SPEC is a comma-separated list of items, applied in this order whatever order they are written:
//   resize=HxW                 bilinear resize to exactly H x W
//   resize=HxW:keep-ratio-pad  height H, width ceil(H * w / h) capped at W, then the right side is
//                              padded with 0 (after normalization) up to W (PaddleOCR rec/cls)
//   resize=limit:L:M           longest side scaled down to L when longer (never up), then both sides
//                              rounded to the nearest multiple of M, at least M (PaddleOCR det,
//                              DetResizeForTest with limit_type "max"; rounding is half to even)
//   resize=short:S             shorter side to S, the other in proportion, truncated (torchvision)
//   crop=HxW                   center crop (top = round((h - H) / 2), left likewise)
//   scale=X                    pixels (0..255) are divided by X first (default 255)
//   mean=A[:B:C] std=A[:B:C]   then (x - mean[c]) / std[c] per channel c of the OUTPUT order (one
//                              value applies to all channels); defaults 0 and 1
//   rgb | bgr                  channel order of the tensor (default rgb)
//   layout=nchw | layout=nhwc  tensor [1, C, H, W] (default) or [1, H, W, C]
// and presets, which set every field and may be followed by items overriding some:
//   ppocr-rec   resize=48x320:keep-ratio-pad,scale=255,mean=0.5,std=0.5,bgr
//   ppocr-cls   resize=48x192:keep-ratio-pad,scale=255,mean=0.5,std=0.5,bgr
//   ppocr-det   resize=limit:960:32,scale=255,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,bgr
//               (PaddleOCR's NormalizeImage applies mean[0] to channel 0 of OpenCV's BGR image:
//               B gets 0.485, as scripts/gen_ocr_data.py does)
//   imagenet    resize=short:256,crop=224x224,scale=255,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,rgb
// Bilinear resizing uses half-pixel centers and no antialiasing (OpenCV INTER_LINEAR, ONNX Resize
// linear/half_pixel), so downscaling by more than 2 differs from PIL's antialiased resize.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/image_file.h"
#include "octet/tensor.h"

namespace octet {

// PaddleOCR's line input shapes: rec_image_shape 3x48x320 and cls_image_shape 3x48x192 (the ppocr-rec
// and ppocr-cls presets, and the OCR pipeline's crops).
inline constexpr int64_t kPpocrLineHeight = 48;
inline constexpr int64_t kPpocrRecWidth = 320;
inline constexpr int64_t kPpocrClsWidth = 192;

enum class ResizeMode {
  kNone,
  kFixed,          // resize=HxW
  kKeepRatioPad,   // resize=HxW:keep-ratio-pad
  kLimitLongSide,  // resize=limit:L:M
  kShorterSide,    // resize=short:S
};
enum class ChannelOrder { kRgb, kBgr };
enum class TensorLayout { kNchw, kNhwc };

struct PreprocessSpec {
  ResizeMode resize = ResizeMode::kNone;
  int64_t resize_height = 0;  // kFixed, kKeepRatioPad (the padded width is resize_width)
  int64_t resize_width = 0;
  int64_t limit_side = 0;     // kLimitLongSide: L
  int64_t side_multiple = 0;  // kLimitLongSide: M
  int64_t shorter_side = 0;   // kShorterSide: S
  int64_t crop_height = 0;    // 0: no crop
  int64_t crop_width = 0;
  float scale = 255;
  std::vector<float> mean{0, 0, 0};  // per output channel
  std::vector<float> std{1, 1, 1};
  ChannelOrder channel_order = ChannelOrder::kRgb;
  TensorLayout layout = TensorLayout::kNchw;
};

// Parses a SPEC (see above). Throws Error naming the bad item and what was expected, e.g.
// "--preprocess: bad item 'resize=48x' (resize=HxW[:keep-ratio-pad], resize=limit:L:M or resize=short:S)".
PreprocessSpec parse_preprocess_spec(const std::string& text);

// Where the tensor's pixels come from in the source image, to map model coordinates (text boxes)
// back to it: source = (tensor + crop) * source_size / resized_size, per axis.
struct SampleGeometry {
  int64_t source_height = 0;  // the decoded image
  int64_t source_width = 0;
  int64_t resized_height = 0;  // after resizing, before cropping and padding
  int64_t resized_width = 0;
  int64_t crop_top = 0;
  int64_t crop_left = 0;
  int64_t tensor_height = 0;  // the tensor's spatial size (after crop and pad)
  int64_t tensor_width = 0;
};

// Applies `spec` to an image: float tensor [1, 3, H, W] (or [1, H, W, 3] with layout=nhwc). Throws
// Error when a crop is larger than the resized image. `geometry` (optional) receives the mapping.
Tensor preprocess_image(const RgbImage& image, const PreprocessSpec& spec, SampleGeometry* geometry = nullptr);

// decode_image_file + preprocess_image; errors name the file.
Tensor load_image_sample(const std::string& path, const PreprocessSpec& spec, SampleGeometry* geometry = nullptr);

// Bilinear resize of interleaved RGB pixels with half-pixel centers and no antialiasing: rows are
// interpolated first, then columns, in float, with float weights (as scripts/gen_ocr_data.py).
// Returns height * width * 3 floats (0..255), interleaved.
std::vector<float> resize_bilinear(const RgbImage& image, int64_t height, int64_t width);

enum class SampleFormat {
  kNpy,    // .npy tensors, already preprocessed
  kImage,  // .png / .jpg / .jpeg / .bmp files, to preprocess
};

// The sample files of a folder in `format` (regular files, by extension), as full paths sorted by
// file name (deterministic across runs and machines). Throws Error naming the folder when it is
// not a folder; an empty result is the caller's to judge.
std::vector<std::string> list_sample_files(const std::string& folder, SampleFormat format);

}  // namespace octet
