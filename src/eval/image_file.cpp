#include "eval/image_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "octet/status.h"

// The one translation unit holding stb_image's implementation; static, so that no other library's
// copy of stb can clash with it.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO  // files are read here, so that errors name them
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace octet {
namespace {

constexpr int kRgbChannels = 3;
constexpr const char* kImageExtensions[] = {".png", ".jpg", ".jpeg", ".bmp"};

struct StbFree {
  void operator()(stbi_uc* pixels) const { stbi_image_free(pixels); }
};

}  // namespace

bool is_image_file_name(const std::string& name) {
  std::string extension = std::filesystem::path(name).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::any_of(std::begin(kImageExtensions), std::end(kImageExtensions),
                     [&](const char* known) { return extension == known; });
}

RgbImage decode_image_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  check(file.good(), path, ": cannot open the image file");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  check(!bytes.empty(), path, ": the image file is empty");
  int width = 0, height = 0, channels_in_file = 0;
  const std::unique_ptr<stbi_uc, StbFree> pixels(stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                                                       static_cast<int>(bytes.size()), &width, &height,
                                                                       &channels_in_file, kRgbChannels));
  check(pixels != nullptr, path, ": cannot decode the image (", stbi_failure_reason(),
        "; PNG, JPEG and BMP are supported)");
  RgbImage image;
  image.height = height;
  image.width = width;
  image.pixels.assign(pixels.get(), pixels.get() + static_cast<size_t>(width) * height * kRgbChannels);
  return image;
}

}  // namespace octet
