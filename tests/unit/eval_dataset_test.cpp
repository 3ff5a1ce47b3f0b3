// Tests of the labeled data set reader behind `octet eval` (src/eval/dataset.h): name matching
// with and without extension, sorting, and an Error naming the file (and line) for each defect.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/npy.h"
#include "eval/dataset.h"

namespace octet {
namespace {
namespace fs = std::filesystem;

class EvalDatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = fs::temp_directory_path() /
              ("octet_eval_dataset_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(folder_);
    fs::create_directories(folder_);
  }
  void TearDown() override { fs::remove_all(folder_); }

  void add_sample(const std::string& name) {
    save_npy(Tensor::from_vector<float>({1}, {1.0f}), (folder_ / name).string());
  }
  void write_labels(const std::string& text) {
    std::ofstream((folder_ / "labels.tsv").string(), std::ios::binary) << text;
  }
  // The message of the Error that loading throws ("" when none is thrown).
  std::string load_error() {
    try {
      load_labeled_dataset(folder_.string());
    } catch (const Error& error) {
      return error.what();
    }
    return "";
  }

  fs::path folder_;
};

TEST_F(EvalDatasetTest, MatchesNamesWithOrWithoutExtensionAndSorts) {
  add_sample("0002.npy");
  add_sample("0001.npy");
  add_sample("0003.npy");
  write_labels("0001.png\t价格 12\r\n\n0002\t180\n0003.npy\t\n0009.png\tunused\n");
  const LabeledDataset dataset = load_labeled_dataset(folder_.string());
  ASSERT_EQ(dataset.samples.size(), 3u);
  EXPECT_EQ(dataset.samples[0].name, "0001.npy");
  EXPECT_EQ(dataset.samples[0].label, "价格 12");  // spaces kept, '\r' removed
  EXPECT_EQ(dataset.samples[1].label, "180");
  EXPECT_EQ(dataset.samples[2].label, "");
  EXPECT_EQ(dataset.samples[2].path, (folder_ / "0003.npy").string());
  EXPECT_EQ(dataset.samples[0].label_origin, (folder_ / "labels.tsv").string() + ":1");
  EXPECT_EQ(dataset.samples[2].label_origin, (folder_ / "labels.tsv").string() + ":4");
}

TEST_F(EvalDatasetTest, ImageSamplesAreListedInsteadOfTensors) {
  add_sample("0001.npy");
  std::ofstream((folder_ / "0001.png").string()) << "png bytes";  // only listed, not decoded here
  std::ofstream((folder_ / "0002.JPG").string()) << "jpg bytes";
  write_labels("0001.png\ta\n0002.JPG\tc\n");
  const LabeledDataset images = load_labeled_dataset(folder_.string(), SampleFormat::kImage);
  ASSERT_EQ(images.samples.size(), 2u);
  EXPECT_EQ(images.samples[0].name, "0001.png");
  EXPECT_EQ(images.samples[1].label, "c");
  EXPECT_EQ(load_labeled_dataset(folder_.string()).samples.size(), 1u);  // the .npy by default

  fs::remove(folder_ / "0001.png");
  fs::remove(folder_ / "0002.JPG");
  try {
    load_labeled_dataset(folder_.string(), SampleFormat::kImage);
    FAIL() << "no error for a folder without images";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("no image samples"), std::string::npos) << error.what();
  }
}

TEST_F(EvalDatasetTest, ErrorsNameTheFileAndLine) {
  write_labels("0001.png\ta\n");
  EXPECT_NE(load_error().find("no .npy samples"), std::string::npos) << load_error();

  add_sample("0001.npy");
  fs::remove(folder_ / "labels.tsv");
  EXPECT_NE(load_error().find("labels.tsv: missing"), std::string::npos) << load_error();

  write_labels("0001.png\ta\n0002.png no tab\n");
  EXPECT_NE(load_error().find("labels.tsv:2: malformed line"), std::string::npos) << load_error();

  write_labels("0001.png\ta\n0001.jpg\tb\n");
  EXPECT_NE(load_error().find("labels.tsv:2:"), std::string::npos) << load_error();

  add_sample("0002.npy");
  write_labels("0001.png\ta\n");
  EXPECT_NE(load_error().find("no label for sample '0002.npy'"), std::string::npos) << load_error();

  EXPECT_THROW(load_labeled_dataset((folder_ / "absent").string()), Error);
}

}  // namespace
}  // namespace octet
