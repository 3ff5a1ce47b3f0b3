// Decoding image files (PNG, JPEG, BMP) into 8-bit RGB pixels: the input of eval's and the
// quantizer's image preprocessing (eval/preprocess.h). Uses Debian's stb_image (libstb-dev).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace octet {

// An 8-bit RGB image, rows top to bottom, pixels interleaved: pixels[(y * width + x) * 3 + c],
// c = 0 red, 1 green, 2 blue.
struct RgbImage {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;
  uint8_t at(int64_t y, int64_t x, int64_t channel) const {
    return pixels[static_cast<size_t>((y * width + x) * 3 + channel)];
  }
};

// Whether a file name has an image extension this decoder reads (.png, .jpg, .jpeg, .bmp; any case).
bool is_image_file_name(const std::string& name);

// Reads and decodes an image file. Gray images are replicated to three channels; an alpha channel
// is dropped (not composited). Throws Error naming the file when it cannot be read or decoded
// (with stb's reason, e.g. "bad png sig").
RgbImage decode_image_file(const std::string& path);

}  // namespace octet
