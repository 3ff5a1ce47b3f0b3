#include <gtest/gtest.h>

#include "octet/tensor.h"

namespace octet {

TEST(TensorTest, AllocatesZeroedAndChecksType) {
  Tensor tensor(DataType::kFloat, {2, 3});
  EXPECT_EQ(tensor.element_count(), 6);
  EXPECT_EQ(tensor.byte_size(), 24u);
  EXPECT_EQ(tensor.data<float>()[5], 0.0f);
  EXPECT_THROW(tensor.data<int32_t>(), Error);
}

TEST(TensorTest, RejectsAbsurdShapes) {
  EXPECT_THROW(Tensor(DataType::kFloat, {1 << 20, 1 << 20, 1 << 20}), Error);
  EXPECT_THROW(Tensor(DataType::kFloat, {-1, 3}), Error);
}

}  // namespace octet
