// Tests of image preprocessing (src/eval/preprocess.h, image_file.h): the SPEC parser and its
// presets, bilinear resizing, the output sizes of each resize mode, crop, normalization, channel
// order and layout on small synthetic images, decoding (a hand-written BMP) and sample listing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "eval/preprocess.h"
#include "octet/status.h"

namespace octet {
namespace {
namespace fs = std::filesystem;

// Float results of (x / 255 - mean) / std on 8-bit inputs: a few float roundings.
constexpr float kNormalizeTolerance = 1e-6f;

RgbImage solid_image(int64_t height, int64_t width, uint8_t red, uint8_t green, uint8_t blue) {
  RgbImage image{height, width, {}};
  for (int64_t i = 0; i < height * width; ++i) image.pixels.insert(image.pixels.end(), {red, green, blue});
  return image;
}

std::string spec_error(const std::string& text) {
  try {
    parse_preprocess_spec(text);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(EvalPreprocessTest, ParsesItemsAndPresets) {
  const PreprocessSpec spec =
      parse_preprocess_spec("resize=48x320:keep-ratio-pad,mean=0.5:0.5:0.5,std=0.5,scale=255,bgr,layout=nhwc");
  EXPECT_EQ(spec.resize, ResizeMode::kKeepRatioPad);
  EXPECT_EQ(spec.resize_height, 48);
  EXPECT_EQ(spec.resize_width, 320);
  EXPECT_EQ(spec.mean, std::vector<float>({0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(spec.std, std::vector<float>({0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(spec.scale, 255);
  EXPECT_EQ(spec.channel_order, ChannelOrder::kBgr);
  EXPECT_EQ(spec.layout, TensorLayout::kNhwc);

  const PreprocessSpec det = parse_preprocess_spec("ppocr-det");
  EXPECT_EQ(det.resize, ResizeMode::kLimitLongSide);
  EXPECT_EQ(det.limit_side, 960);
  EXPECT_EQ(det.side_multiple, 32);
  EXPECT_EQ(det.mean, std::vector<float>({0.485f, 0.456f, 0.406f}));  // B first, as PaddleOCR
  EXPECT_EQ(det.channel_order, ChannelOrder::kBgr);

  const PreprocessSpec cls = parse_preprocess_spec("ppocr-cls,layout=nhwc");  // a preset, then overrides
  EXPECT_EQ(cls.resize_width, 192);
  EXPECT_EQ(cls.layout, TensorLayout::kNhwc);

  const PreprocessSpec imagenet = parse_preprocess_spec("imagenet");
  EXPECT_EQ(imagenet.resize, ResizeMode::kShorterSide);
  EXPECT_EQ(imagenet.shorter_side, 256);
  EXPECT_EQ(imagenet.crop_height, 224);
  EXPECT_EQ(imagenet.channel_order, ChannelOrder::kRgb);
  EXPECT_EQ(parse_preprocess_spec("resize=limit:640:16").side_multiple, 16);
  EXPECT_EQ(parse_preprocess_spec("resize=short:10,crop=8x6").crop_width, 6);
  EXPECT_EQ(parse_preprocess_spec("resize=32x64").resize, ResizeMode::kFixed);
}

TEST(EvalPreprocessTest, BadItemsAreNamed) {
  for (const char* item : {"resize=48x", "resize=48x320:pad", "resize=limit:960", "resize=0x4", "crop=3", "mean=1:2",
                           "std=0", "scale=-1", "layout=chw", "bgrx", "gamma=2"}) {
    const std::string message = spec_error(concat("rgb,", item));
    EXPECT_NE(message.find(concat("--preprocess: bad item '", item, "'")), std::string::npos)
        << item << ": " << message;
  }
  EXPECT_NE(spec_error("rgb,ppocr-rec").find("a preset first"), std::string::npos);
  EXPECT_NE(spec_error("").find("empty spec"), std::string::npos);
}

TEST(EvalPreprocessTest, BilinearResizeUsesHalfPixelCenters) {
  // One row 0, 100 upscaled to 4 columns: sources -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
  RgbImage image{1, 2, {0, 0, 0, 100, 100, 100}};
  const std::vector<float> resized = resize_bilinear(image, 2, 4);
  const float expected[] = {0, 25, 75, 100};
  for (int64_t y = 0; y < 2; ++y)
    for (int64_t x = 0; x < 4; ++x) EXPECT_FLOAT_EQ(resized[static_cast<size_t>((y * 4 + x) * 3)], expected[x]) << x;
  // Downscaling 4 -> 2 averages the middle pairs: sources 0.5 and 2.5.
  RgbImage row{1, 4, {}};
  for (uint8_t v : {0, 40, 80, 120}) row.pixels.insert(row.pixels.end(), {v, v, v});
  const std::vector<float> halved = resize_bilinear(row, 1, 2);
  EXPECT_FLOAT_EQ(halved[0], 20);
  EXPECT_FLOAT_EQ(halved[3], 100);
  // Same size: an exact copy.
  const std::vector<float> same = resize_bilinear(row, 1, 4);
  EXPECT_FLOAT_EQ(same[3 * 3], 120);
}

TEST(EvalPreprocessTest, KeepRatioPadNormalizesAndPadsWithZero) {
  // 10 x 20 image -> height 5, width ceil(5 * 20 / 10) = 10 of 20, the rest 0.
  const Tensor tensor =
      preprocess_image(solid_image(10, 20, 255, 0, 51), parse_preprocess_spec("ppocr-rec,resize=5x20:keep-ratio-pad"));
  ASSERT_EQ(tensor.shape(), Shape({1, 3, 5, 20}));
  const float* p = tensor.data<float>();
  // BGR: channel 0 is blue (51 / 255 - 0.5) / 0.5 = -0.6, green -1, red 1.
  const float expected[] = {-0.6f, -1.0f, 1.0f};
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t x = 0; x < 20; ++x) {
      const float value = p[(c * 5 + 2) * 20 + x];
      EXPECT_NEAR(value, x < 10 ? expected[c] : 0.0f, kNormalizeTolerance) << "channel " << c << " column " << x;
    }
  }
  // A wide image is capped at the width: 10 x 100 -> 5 x 20, no padding.
  SampleGeometry geometry;
  preprocess_image(solid_image(10, 100, 1, 2, 3), parse_preprocess_spec("ppocr-rec,resize=5x20:keep-ratio-pad"),
                   &geometry);
  EXPECT_EQ(geometry.resized_width, 20);
  EXPECT_EQ(geometry.tensor_width, 20);
}

TEST(EvalPreprocessTest, ResizeModesGiveTheDocumentedSizes) {
  const auto size_of = [](int64_t height, int64_t width, const std::string& spec) {
    SampleGeometry geometry;
    const Tensor tensor = preprocess_image(solid_image(height, width, 9, 9, 9), parse_preprocess_spec(spec), &geometry);
    EXPECT_EQ(tensor.dim(2), geometry.tensor_height);
    EXPECT_EQ(tensor.dim(3), geometry.tensor_width);
    return std::pair{geometry.resized_height, geometry.resized_width};
  };
  using Size = std::pair<int64_t, int64_t>;
  EXPECT_EQ(size_of(7, 9, "resize=4x6"), Size(4, 6));
  // limit: 100 x 50 with L = 64: ratio 0.64 -> 64 x 32; already multiples of 32.
  EXPECT_EQ(size_of(100, 50, "resize=limit:64:32"), Size(64, 32));
  // Not scaled up; 80 / 32 = 2.5 rounds half to even (Python's round) to 2 -> 64; 30 -> at least 32.
  EXPECT_EQ(size_of(80, 30, "resize=limit:960:32"), Size(64, 32));
  // 48 / 32 = 1.5 -> 2 -> 64; 112 / 32 = 3.5 -> 4 -> 128.
  EXPECT_EQ(size_of(48, 112, "ppocr-det"), Size(64, 128));
  // shorter side: 30 x 40 -> 20 x int(20 * 40 / 30) = 26.
  EXPECT_EQ(size_of(30, 40, "resize=short:20"), Size(20, 26));
  EXPECT_EQ(size_of(40, 30, "resize=short:20"), Size(26, 20));
}

TEST(EvalPreprocessTest, CenterCropChannelOrderAndLayout) {
  // 5 x 7 image whose red value is 10 * y + x; crop 3 x 3: top round(1) = 1, left round(2) = 2.
  RgbImage image{5, 7, {}};
  for (int64_t y = 0; y < 5; ++y)
    for (int64_t x = 0; x < 7; ++x) image.pixels.insert(image.pixels.end(), {static_cast<uint8_t>(10 * y + x), 200, 0});
  SampleGeometry geometry;
  const Tensor nchw = preprocess_image(image, parse_preprocess_spec("crop=3x3,scale=1,rgb"), &geometry);
  ASSERT_EQ(nchw.shape(), Shape({1, 3, 3, 3}));
  EXPECT_EQ(geometry.crop_top, 1);
  EXPECT_EQ(geometry.crop_left, 2);
  EXPECT_FLOAT_EQ(nchw.data<float>()[0], 12);          // red at (1, 2)
  EXPECT_FLOAT_EQ(nchw.data<float>()[2 * 3 + 2], 34);  // red at (3, 4)
  EXPECT_FLOAT_EQ(nchw.data<float>()[9], 200);         // green plane

  const Tensor nhwc = preprocess_image(image, parse_preprocess_spec("crop=3x3,scale=1,bgr,layout=nhwc,mean=1:2:3"));
  ASSERT_EQ(nhwc.shape(), Shape({1, 3, 3, 3}));
  const float* p = nhwc.data<float>();
  EXPECT_FLOAT_EQ(p[0], 0 - 1);    // blue - mean[0]
  EXPECT_FLOAT_EQ(p[1], 200 - 2);  // green - mean[1]
  EXPECT_FLOAT_EQ(p[2], 12 - 3);   // red - mean[2]
  EXPECT_FLOAT_EQ(p[(1 * 3 + 1) * 3 + 2], 23 - 3);

  EXPECT_THROW(preprocess_image(image, parse_preprocess_spec("crop=6x3")), Error);
}

class EvalPreprocessFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("octet_eval_preprocess_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  // A 24-bit uncompressed BMP (bottom-up rows padded to 4 bytes, BGR pixels) of a 2 x 3 image.
  std::string write_bmp(const std::string& name, const RgbImage& image) {
    const int64_t row_bytes = (image.width * 3 + 3) / 4 * 4;
    const int64_t data_bytes = row_bytes * image.height;
    std::string bytes = "BM";
    const auto put32 = [&](uint32_t v) {
      for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    };
    const auto put16 = [&](uint16_t v) {
      bytes.push_back(static_cast<char>(v & 0xFF)), bytes.push_back(static_cast<char>(v >> 8));
    };
    put32(static_cast<uint32_t>(54 + data_bytes));
    put32(0);
    put32(54);
    put32(40);
    put32(static_cast<uint32_t>(image.width));
    put32(static_cast<uint32_t>(image.height));
    put16(1);
    put16(24);
    for (int i = 0; i < 6; ++i) put32(0);
    for (int64_t y = image.height - 1; y >= 0; --y) {
      for (int64_t x = 0; x < image.width; ++x)
        for (int64_t c = 2; c >= 0; --c) bytes.push_back(static_cast<char>(image.at(y, x, c)));
      bytes.append(static_cast<size_t>(row_bytes - image.width * 3), '\0');
    }
    const std::string path = (folder_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  fs::path folder_;
};

TEST_F(EvalPreprocessFileTest, DecodesAndPreprocessesAnImageFile) {
  RgbImage image{2, 3, {}};
  for (int64_t i = 0; i < 6; ++i)
    image.pixels.insert(image.pixels.end(), {static_cast<uint8_t>(10 * i), static_cast<uint8_t>(100 + i), 7});
  const std::string path = write_bmp("0001.bmp", image);
  const RgbImage decoded = decode_image_file(path);
  EXPECT_EQ(decoded.height, 2);
  EXPECT_EQ(decoded.width, 3);
  EXPECT_EQ(decoded.pixels, image.pixels);
  const Tensor tensor = load_image_sample(path, parse_preprocess_spec("scale=1"));
  ASSERT_EQ(tensor.shape(), Shape({1, 3, 2, 3}));
  EXPECT_FLOAT_EQ(tensor.data<float>()[5], 50);       // red of pixel 5
  EXPECT_FLOAT_EQ(tensor.data<float>()[6 + 4], 104);  // green of pixel 4
}

TEST_F(EvalPreprocessFileTest, UndecodableFilesAreNamed) {
  const std::string path = (folder_ / "broken.png").string();
  std::ofstream(path, std::ios::binary) << "not an image";
  try {
    decode_image_file(path);
    FAIL() << "no error for " << path;
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(path + ": cannot decode the image"), std::string::npos) << error.what();
  }
  EXPECT_THROW(decode_image_file((folder_ / "absent.png").string()), Error);
}

TEST_F(EvalPreprocessFileTest, ListsSampleFilesSorted) {
  for (const char* name : {"b.png", "a.JPG", "c.jpeg", "d.npy", "0.npy", "notes.txt", "e.bmp"})
    std::ofstream((folder_ / name).string()) << "x";
  fs::create_directories(folder_ / "sub.png");
  std::vector<std::string> images;
  for (const std::string& path : list_sample_files(folder_.string(), SampleFormat::kImage))
    images.push_back(fs::path(path).filename().string());
  EXPECT_EQ(images, std::vector<std::string>({"a.JPG", "b.png", "c.jpeg", "e.bmp"}));
  const std::vector<std::string> tensors = list_sample_files(folder_.string(), SampleFormat::kNpy);
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0], (folder_ / "0.npy").string());
  EXPECT_THROW(list_sample_files((folder_ / "absent").string(), SampleFormat::kNpy), Error);
}

}  // namespace
}  // namespace octet
