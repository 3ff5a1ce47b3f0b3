// Tests of the matrix-product reference kernels (MatMul, Gemm, MatMulInteger, QLinearMatMul) and
// of the shared GEMM routine itself, against triple loops written here (in double for floats,
// exactly for integers).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/reference/gemm.h"

namespace octet {
namespace {

using testing::float_attribute;
using testing::int_attribute;
using testing::make_node;
using testing::run_node;

// Float products are accumulated in float in blocks; against a double reference, sums of up to
// ~600 products of values in [-1, 1] (times alpha <= 2.5) stay within ~1e-5.
constexpr double kFloatTolerance = 1e-4;

template <typename T>
Tensor random_integers(const Shape& shape, uint32_t seed) {
  Tensor tensor(dtype_of<T>(), shape);
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> distribution(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  for (int64_t i = 0; i < tensor.element_count(); ++i) tensor.data<T>()[i] = static_cast<T>(distribution(generator));
  return tensor;
}

Tensor random_quantized(bool is_signed, const Shape& shape, uint32_t seed) {
  return is_signed ? random_integers<int8_t>(shape, seed) : random_integers<uint8_t>(shape, seed);
}

// ---------------------------------------------------------------------------------------------
// The GEMM routine.

struct GemmProblem {
  int64_t m, n, k;
  bool transpose_a, transpose_b;
  float alpha, beta;
};

std::string describe(const GemmProblem& problem) {
  return concat("m ", problem.m, " n ", problem.n, " k ", problem.k, " transA ", problem.transpose_a, " transB ",
                problem.transpose_b, " alpha ", problem.alpha, " beta ", problem.beta);
}

// C = alpha * op(A) * op(B) + beta * C in double, for row-major A (m x k or k x m) and B.
std::vector<float> naive_gemm(const GemmProblem& problem, const std::vector<float>& a, const std::vector<float>& b,
                              const std::vector<float>& c) {
  const int64_t m = problem.m, n = problem.n, k = problem.k;
  std::vector<float> result(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double a_value = problem.transpose_a ? a[static_cast<size_t>(p * m + i)] : a[static_cast<size_t>(i * k + p)];
        const double b_value = problem.transpose_b ? b[static_cast<size_t>(j * k + p)] : b[static_cast<size_t>(p * n + j)];
        sum += a_value * b_value;
      }
      const double c_value = problem.beta == 0.0f ? 0.0 : problem.beta * double{c[static_cast<size_t>(i * n + j)]};
      result[static_cast<size_t>(i * n + j)] = static_cast<float>(problem.alpha * sum + c_value);
    }
  }
  return result;
}

std::vector<float> random_values(int64_t count, std::mt19937& generator) {
  std::uniform_real_distribution<float> distribution(-1.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(count));
  for (float& value : values) value = distribution(generator);
  return values;
}

// Sweeps sizes around the tile (6 x 16) and block (144 rows, 256 depth) boundaries, K = 1, both
// transpositions, plain and pre-packed operands, one and two threads.
TEST(GemmRoutineTest, SweepMatchesTripleLoop) {
  std::mt19937 generator(1);
  ThreadPool two_threads(2);
  const std::vector<int64_t> rows{1, 5, 6, 7, 13, 145};
  const std::vector<int64_t> cols{1, 15, 16, 17, 33, 70};
  const std::vector<int64_t> depths{1, 2, 255, 257, 600};
  int trial = 0;
  for (int64_t m : rows) {
    for (int64_t n : cols) {
      for (int64_t k : depths) {
        ++trial;
        const GemmProblem problem{m, n, k, trial % 2 == 1, trial % 3 == 1, trial % 4 == 0 ? 2.5f : 1.0f,
                                  static_cast<float>(trial % 3) * 0.5f};
        const std::vector<float> a = random_values(m * k, generator);
        const std::vector<float> b = random_values(k * n, generator);
        std::vector<float> c = random_values(m * n, generator);
        const std::vector<float> expected = naive_gemm(problem, a, b, c);
        const MatrixView a_view{a.data(), problem.transpose_a ? m : k, problem.transpose_a};
        const MatrixView b_view{b.data(), problem.transpose_b ? k : n, problem.transpose_b};
        ThreadPool* threads = trial % 2 == 0 ? &two_threads : nullptr;
        switch (trial % 3) {
          case 0: gemm(m, n, k, problem.alpha, a_view, b_view, problem.beta, c.data(), n, threads); break;
          case 1: {
            const PackedLhs packed(a_view, m, k);
            gemm(m, n, k, problem.alpha, packed, b_view, problem.beta, c.data(), n, threads);
            break;
          }
          default: {
            const PackedRhs packed(b_view, k, n);
            gemm(m, n, k, problem.alpha, a_view, packed, problem.beta, c.data(), n, threads);
            break;
          }
        }
        for (size_t i = 0; i < c.size(); ++i)
          ASSERT_NEAR(c[i], expected[i], kFloatTolerance) << describe(problem) << " variant " << trial % 3 << " element " << i;
      }
    }
  }
}

TEST(GemmRoutineTest, BetaZeroIgnoresGarbageAndStridesAreHonoured) {
  std::mt19937 generator(2);
  const int64_t m = 9, n = 20, k = 11, ldc = 25;
  const std::vector<float> a = random_values(m * k, generator);
  const std::vector<float> b = random_values(k * n, generator);
  std::vector<float> c(static_cast<size_t>(m * ldc), std::numeric_limits<float>::quiet_NaN());
  gemm(m, n, k, 1.0f, MatrixView{a.data(), k}, MatrixView{b.data(), n}, 0.0f, c.data(), ldc);
  const std::vector<float> expected = naive_gemm({m, n, k, false, false, 1.0f, 0.0f}, a, b, {});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const float value = c[static_cast<size_t>(i * ldc + j)];
      if (j < n) {
        ASSERT_NEAR(value, expected[static_cast<size_t>(i * n + j)], kFloatTolerance) << i << "," << j;
      } else {
        ASSERT_TRUE(std::isnan(value)) << "wrote outside the matrix at " << i << "," << j;
      }
    }
  }
}

TEST(GemmRoutineTest, PackedLhsRowSlicesAndRowByRowRhs) {
  std::mt19937 generator(3);
  const int64_t m = 40, n = 37, k = 300;
  const std::vector<float> a = random_values(m * k, generator);
  const std::vector<float> b = random_values(k * n, generator);
  const std::vector<float> expected = naive_gemm({m, n, k, false, false, 1.0f, 0.0f}, a, b, {});
  const PackedLhs packed_a(MatrixView{a.data(), k}, m, k);
  PackedRhs packed_b;
  packed_b.reset(k, n);
  for (int64_t p = 0; p < k; ++p) packed_b.set_row(p, b.data() + p * n);
  // Rows [12, 30) of the product from the matching slice of the packed weights.
  const int64_t first_row = 12, rows = 18;
  std::vector<float> c(static_cast<size_t>(rows * n));
  gemm(rows, n, k, 1.0f, GemmLhs(packed_a, first_row), packed_b, 0.0f, c.data(), n);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j)
      ASSERT_NEAR(c[static_cast<size_t>(i * n + j)], expected[static_cast<size_t>((first_row + i) * n + j)],
                  kFloatTolerance)
          << i << "," << j;
}

TEST(GemmRoutineTest, Int32ProductIsExact) {
  std::mt19937 generator(4);
  std::uniform_int_distribution<int32_t> distribution(-255, 255);
  for (int64_t m : {1, 7}) {
    for (int64_t n : {1, 300}) {
      for (int64_t k : {1, 129}) {
        std::vector<int32_t> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)), c(static_cast<size_t>(m * n));
        for (int32_t& value : a) value = distribution(generator);
        for (int32_t& value : b) value = distribution(generator);
        gemm_int32(m, n, k, a.data(), k, b.data(), n, c.data(), n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            int64_t sum = 0;
            for (int64_t p = 0; p < k; ++p) sum += int64_t{a[static_cast<size_t>(i * k + p)]} * b[static_cast<size_t>(p * n + j)];
            ASSERT_EQ(c[static_cast<size_t>(i * n + j)], sum) << "m " << m << " n " << n << " k " << k;
          }
      }
    }
  }
}

TEST(GemmRoutineTest, RequantizeRoundsHalfToEvenAndSaturates) {
  EXPECT_EQ(requantize<uint8_t>(5, 0.5f, 0), 2);    // 2.5 -> 2
  EXPECT_EQ(requantize<uint8_t>(7, 0.5f, 0), 4);    // 3.5 -> 4
  EXPECT_EQ(requantize<int8_t>(-5, 0.5f, 0), -2);   // -2.5 -> -2
  EXPECT_EQ(requantize<int8_t>(-7, 0.5f, 0), -4);   // -3.5 -> -4
  EXPECT_EQ(requantize<uint8_t>(3, 0.5f, 10), 12);  // 1.5 -> 2, plus the zero point
  EXPECT_EQ(requantize<uint8_t>(1000, 1.0f, 0), 255);
  EXPECT_EQ(requantize<uint8_t>(-1000, 1.0f, 0), 0);
  EXPECT_EQ(requantize<int8_t>(1000, 1.0f, -3), 127);
  EXPECT_EQ(requantize<int8_t>(-1000, 1.0f, 3), -128);
}

// ---------------------------------------------------------------------------------------------
// MatMul.

// Numpy matmul by definition: promote 1-D operands, broadcast batch dimensions, drop promoted ones.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
  Shape a_shape = a.shape();
  Shape b_shape = b.shape();
  const bool a_vector = a_shape.size() == 1;
  const bool b_vector = b_shape.size() == 1;
  if (a_vector) a_shape.insert(a_shape.begin(), 1);
  if (b_vector) b_shape.push_back(1);
  const size_t batch_rank = std::max(a_shape.size(), b_shape.size()) - 2;
  // Left-pad both to the same rank with ones.
  a_shape.insert(a_shape.begin(), batch_rank + 2 - a_shape.size(), 1);
  b_shape.insert(b_shape.begin(), batch_rank + 2 - b_shape.size(), 1);
  const int64_t m = a_shape[batch_rank], k = a_shape[batch_rank + 1], n = b_shape[batch_rank + 1];
  Shape batch;
  for (size_t d = 0; d < batch_rank; ++d) batch.push_back(std::max(a_shape[d], b_shape[d]));
  Shape output = batch;
  if (!a_vector) output.push_back(m);
  if (!b_vector) output.push_back(n);
  Tensor y(a.dtype() == DataType::kFloat ? DataType::kFloat : DataType::kInt32, output);
  const int64_t batch_count = element_count(batch);
  for (int64_t index = 0; index < batch_count; ++index) {
    int64_t a_matrix = 0, b_matrix = 0, rest = index;
    std::vector<int64_t> coordinates(batch_rank);
    for (size_t d = batch_rank; d-- > 0;) {
      coordinates[d] = rest % batch[d];
      rest /= batch[d];
    }
    for (size_t d = 0; d < batch_rank; ++d) {
      a_matrix = a_matrix * a_shape[d] + (a_shape[d] == 1 ? 0 : coordinates[d]);
      b_matrix = b_matrix * b_shape[d] + (b_shape[d] == 1 ? 0 : coordinates[d]);
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p)
          sum += a.value_as_double(a_matrix * m * k + i * k + p) * b.value_as_double(b_matrix * k * n + p * n + j);
        const int64_t out = (index * m + i) * n + j;
        if (y.dtype() == DataType::kFloat) {
          y.data<float>()[out] = static_cast<float>(sum);
        } else {
          y.data<int32_t>()[out] = static_cast<int32_t>(sum);
        }
      }
  }
  return y;
}

TEST(MatMulKernelTest, ShapesMatchNumpySemantics) {
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> cases{
      {{7, 5}, {5, 9}},           {{1, 1}, {1, 1}},          {{5}, {5, 3}},  {{4, 5}, {5}},
      {{5}, {5}},                 {{2, 3, 7, 5}, {5, 17}},   {{3, 7, 5}, {2, 1, 5, 4}},
      {{2, 1, 6, 9}, {3, 9, 19}}, {{1, 33, 300}, {300, 31}}, {{13, 150}, {150, 2}},
      {{3, 4, 5}, {5}},           {{6}, {2, 6, 3}},
  };
  uint32_t seed = 10;
  for (const Case& test_case : cases) {
    for (int threads : {1, 2}) {
      for (bool constant_b : {false, true}) {
        const Tensor a = testing::random_tensor(test_case.a, ++seed);
        const Tensor b = testing::random_tensor(test_case.b, ++seed);
        const std::vector<size_t> constants = constant_b ? std::vector<size_t>{1} : std::vector<size_t>{};
        const std::vector<Tensor> outputs = run_node(make_node("MatMul", 2, 1), {&a, &b}, 17, constants, threads);
        testing::expect_near(outputs[0], naive_matmul(a, b), kFloatTolerance,
                             concat("A ", shape_to_string(a.shape()), " B ", shape_to_string(b.shape()), " threads ",
                                    threads, " constant B ", constant_b));
      }
    }
  }
}

TEST(MatMulKernelTest, RejectsMismatchedShapes) {
  const Tensor a = testing::random_tensor({3, 4}, 1);
  const Tensor b = testing::random_tensor({5, 2}, 2);
  EXPECT_THROW(run_node(make_node("MatMul", 2, 1), {&a, &b}), Error);
  const Tensor a3 = testing::random_tensor({2, 3, 4}, 3);
  const Tensor b3 = testing::random_tensor({3, 4, 2}, 4);
  EXPECT_THROW(run_node(make_node("MatMul", 2, 1), {&a3, &b3}), Error);
}

// ---------------------------------------------------------------------------------------------
// Gemm.

TEST(GemmKernelTest, AttributesAndBiasBroadcasting) {
  const int64_t m = 150, n = 37, k = 260;  // crosses the row and depth blocks
  const std::vector<Shape> c_shapes{{}, {1}, {n}, {1, n}, {m, 1}, {m, n}};
  uint32_t seed = 50;
  int trial = 0;
  for (bool transpose_a : {false, true}) {
    for (bool transpose_b : {false, true}) {
      for (const Shape& c_shape : c_shapes) {
        ++trial;
        const float alpha = trial % 2 ? 1.0f : 0.75f;
        const float beta = trial % 3 ? 1.0f : -2.0f;
        const Tensor a = testing::random_tensor(transpose_a ? Shape{k, m} : Shape{m, k}, ++seed);
        const Tensor b = testing::random_tensor(transpose_b ? Shape{n, k} : Shape{k, n}, ++seed);
        const Tensor c = testing::random_tensor(c_shape, ++seed);
        const Node node = make_node("Gemm", 3, 1,
                                    {float_attribute("alpha", alpha), float_attribute("beta", beta),
                                     int_attribute("transA", transpose_a), int_attribute("transB", transpose_b)});
        const std::vector<size_t> constants = trial % 2 ? std::vector<size_t>{1} : std::vector<size_t>{};
        const std::vector<Tensor> outputs = run_node(node, {&a, &b, &c}, 13, constants, 1 + trial % 2);
        Tensor expected(DataType::kFloat, {m, n});
        const std::vector<int64_t> c_full = c_shape.size() == 2 ? c_shape : Shape{1, c_shape.empty() ? 1 : c_shape[0]};
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double sum = 0;
            for (int64_t p = 0; p < k; ++p)
              sum += double{a.data<float>()[transpose_a ? p * m + i : i * k + p]} *
                     b.data<float>()[transpose_b ? j * k + p : p * n + j];
            const int64_t c_index = (c_full[0] == 1 ? 0 : i) * c_full[1] + (c_full[1] == 1 ? 0 : j);
            expected.data<float>()[i * n + j] = static_cast<float>(alpha * sum + beta * c.data<float>()[c_index]);
          }
        testing::expect_near(outputs[0], expected, 2 * kFloatTolerance,
                             concat("transA ", transpose_a, " transB ", transpose_b, " C ", shape_to_string(c_shape),
                                    " alpha ", alpha, " beta ", beta));
      }
    }
  }
}

TEST(GemmKernelTest, OptionalBiasFromOpset11) {
  const Tensor a = testing::random_tensor({3, 4}, 1);
  const Tensor b = testing::random_tensor({4, 5}, 2);
  const Node node = make_node("Gemm", 2, 1, {float_attribute("alpha", 2.0f)});
  const std::vector<Tensor> outputs = run_node(node, {&a, &b}, 11);
  Tensor expected = naive_matmul(a, b);
  for (int64_t i = 0; i < expected.element_count(); ++i) expected.data<float>()[i] *= 2.0f;
  testing::expect_near(outputs[0], expected, kFloatTolerance);
  EXPECT_THROW(run_node(node, {&a, &b}, 9), Error);
  // C that does not broadcast to (M, N).
  const Tensor c = testing::random_tensor({3, 2}, 3);
  EXPECT_THROW(run_node(make_node("Gemm", 3, 1), {&a, &b, &c}), Error);
}

// ---------------------------------------------------------------------------------------------
// MatMulInteger and QLinearMatMul: exact.

struct IntegerMatMulCase {
  Shape a, b;
  Shape a_zero_point, b_zero_point;  // shapes of the zero points (and QLinearMatMul scales)
  bool signed_a, signed_b;
};

const std::vector<IntegerMatMulCase>& integer_cases() {
  static const std::vector<IntegerMatMulCase> cases{
      {{7, 5}, {5, 9}, {}, {}, false, false},
      {{7, 5}, {5, 9}, {7}, {9}, false, true},
      {{1, 300}, {300, 33}, {1}, {33}, true, true},
      {{2, 3, 6, 11}, {11, 17}, {}, {17}, true, false},
      {{2, 6, 11}, {2, 11, 5}, {2, 6, 1}, {2, 1, 5}, false, true},
      {{11}, {11, 4}, {}, {}, false, false},
      {{3, 4, 11}, {11}, {}, {}, true, true},
  };
  return cases;
}

// Zero point / scale `parameter` for element `index` along the varying axis of matrix `matrix`.
double parameter_at(const Tensor& parameter, int64_t matrix, int64_t index, int64_t length) {
  const int64_t count = parameter.element_count();
  return parameter.value_as_double(count == 1 ? 0 : count == length ? index : matrix * length + index);
}

// A and B as float tensors minus their zero points (exact), so naive_matmul gives the int32 sums.
Tensor centered(const Tensor& operand, const Tensor& zero_point, int64_t rows, int64_t cols, bool per_row) {
  Tensor result(DataType::kInt32, operand.shape());
  for (int64_t i = 0; i < operand.element_count(); ++i) {
    const int64_t matrix = i / (rows * cols);
    const int64_t along = per_row ? i / cols % rows : i % cols;
    result.data<int32_t>()[i] = static_cast<int32_t>(operand.value_as_double(i) -
                                                     parameter_at(zero_point, matrix, along, per_row ? rows : cols));
  }
  return result;
}

TEST(MatMulIntegerKernelTest, MatchesIntegerFormulaExactly) {
  uint32_t seed = 70;
  for (const IntegerMatMulCase& test_case : integer_cases()) {
    const Tensor a = random_quantized(test_case.signed_a, test_case.a, ++seed);
    const Tensor b = random_quantized(test_case.signed_b, test_case.b, ++seed);
    const Tensor a_zero_point = random_quantized(test_case.signed_a, test_case.a_zero_point, ++seed);
    const Tensor b_zero_point = random_quantized(test_case.signed_b, test_case.b_zero_point, ++seed);
    const int64_t m = test_case.a.size() == 1 ? 1 : test_case.a[test_case.a.size() - 2];
    const int64_t k = test_case.a.back();
    const int64_t n = test_case.b.size() == 1 ? 1 : test_case.b.back();
    const Tensor expected = naive_matmul(centered(a, a_zero_point, m, k, true), centered(b, b_zero_point, k, n, false));
    const std::vector<Tensor> outputs =
        run_node(make_node("MatMulInteger", 4, 1), {&a, &b, &a_zero_point, &b_zero_point}, 17, {}, 1 + seed % 2);
    const std::string context = concat("A ", shape_to_string(test_case.a), " B ", shape_to_string(test_case.b),
                                       " a_zero_point ", shape_to_string(test_case.a_zero_point), " b_zero_point ",
                                       shape_to_string(test_case.b_zero_point));
    ASSERT_EQ(outputs[0].dtype(), DataType::kInt32) << context;
    ASSERT_EQ(outputs[0].shape(), expected.shape()) << context;
    for (int64_t i = 0; i < expected.element_count(); ++i)
      ASSERT_EQ(outputs[0].data<int32_t>()[i], expected.data<int32_t>()[i]) << context << " element " << i;
  }
}

TEST(MatMulIntegerKernelTest, ZeroPointsAreOptional) {
  const Tensor a = random_integers<uint8_t>({4, 6}, 1);
  const Tensor b = random_integers<int8_t>({6, 3}, 2);
  const std::vector<Tensor> outputs = run_node(make_node("MatMulInteger", 2, 1), {&a, &b});
  const Tensor expected = naive_matmul(centered(a, Tensor::scalar<uint8_t>(0), 4, 6, true),
                                       centered(b, Tensor::scalar<int8_t>(0), 6, 3, false));
  for (int64_t i = 0; i < expected.element_count(); ++i)
    ASSERT_EQ(outputs[0].data<int32_t>()[i], expected.data<int32_t>()[i]) << "element " << i;
}

// Requantized outputs are spread over about [-kLargestOutput, kLargestOutput] around a zero point
// near the middle of the type's range.
constexpr double kLargestOutput = 150;

Tensor near_middle_zero_point(bool is_signed, uint32_t seed) {
  const int offset = static_cast<int>(seed % 41) - 20;
  return is_signed ? Tensor::scalar(static_cast<int8_t>(offset)) : Tensor::scalar(static_cast<uint8_t>(128 + offset));
}

TEST(QLinearMatMulKernelTest, MatchesRequantizedIntegerFormulaExactly) {
  uint32_t seed = 90;
  for (const IntegerMatMulCase& test_case : integer_cases()) {
    const bool signed_y = test_case.signed_b;
    const Tensor a = random_quantized(test_case.signed_a, test_case.a, ++seed);
    const Tensor b = random_quantized(test_case.signed_b, test_case.b, ++seed);
    const Tensor a_zero_point = random_quantized(test_case.signed_a, test_case.a_zero_point, ++seed);
    const Tensor b_zero_point = random_quantized(test_case.signed_b, test_case.b_zero_point, ++seed);
    const Tensor a_scale = testing::random_tensor(test_case.a_zero_point, ++seed, 0.01f, 0.03f);
    const Tensor b_scale = testing::random_tensor(test_case.b_zero_point, ++seed, 0.01f, 0.03f);
    const Tensor y_zero_point = near_middle_zero_point(signed_y, ++seed);
    const int64_t m = test_case.a.size() == 1 ? 1 : test_case.a[test_case.a.size() - 2];
    const int64_t k = test_case.a.back();
    const int64_t n = test_case.b.size() == 1 ? 1 : test_case.b.back();
    const Tensor sums = naive_matmul(centered(a, a_zero_point, m, k, true), centered(b, b_zero_point, k, n, false));
    // y_scale maps the largest accumulator to about +-kLargestOutput, so that only the extremes saturate.
    double largest = 1;
    for (int64_t i = 0; i < sums.element_count(); ++i) largest = std::max(largest, std::fabs(sums.value_as_double(i)));
    const float y_scale_value = static_cast<float>(largest * 0.03 * 0.03 / kLargestOutput);
    const Tensor y_scale = Tensor::scalar(y_scale_value);
    const std::vector<Tensor> outputs = run_node(
        make_node("QLinearMatMul", 8, 1),
        {&a, &a_scale, &a_zero_point, &b, &b_scale, &b_zero_point, &y_scale, &y_zero_point}, 17, {}, 1 + seed % 2);
    const std::string context = concat("A ", shape_to_string(test_case.a), " B ", shape_to_string(test_case.b),
                                       " zero point / scale shapes ", shape_to_string(test_case.a_zero_point), " ",
                                       shape_to_string(test_case.b_zero_point));
    const Tensor& y = outputs[0];
    ASSERT_EQ(y.dtype(), signed_y ? DataType::kInt8 : DataType::kUint8) << context;
    ASSERT_EQ(y.shape(), sums.shape()) << context;
    const double low = signed_y ? -128 : 0;
    const double high = signed_y ? 127 : 255;
    const int64_t a_matrices = a.element_count() / (m * k);
    const int64_t b_matrices = b.element_count() / (k * n);
    int64_t unsaturated = 0;
    for (int64_t i = 0; i < y.element_count(); ++i) {
      // Output element i is row `row`, column `column` of output matrix `matrix`; A and B matrices
      // repeat when broadcast (the cases broadcast only a missing or size-1 batch).
      const int64_t matrix = i / (m * n);
      const int64_t row = i / n % m;
      const int64_t column = i % n;
      const float a_scale_value = static_cast<float>(parameter_at(a_scale, matrix % a_matrices, row, m));
      const float b_scale_value = static_cast<float>(parameter_at(b_scale, matrix % b_matrices, column, n));
      const float multiplier = a_scale_value * b_scale_value / y_scale_value;
      const double rounded = std::nearbyint(static_cast<float>(sums.data<int32_t>()[i]) * multiplier);
      const double expected = std::clamp(rounded + y_zero_point.value_as_double(0), low, high);
      ASSERT_EQ(y.value_as_double(i), expected) << context << " element " << i;
      if (expected > low && expected < high) ++unsaturated;
    }
    // Mostly saturated outputs would hide rounding mistakes.
    EXPECT_GE(4 * unsaturated, y.element_count()) << context;
  }
}

}  // namespace
}  // namespace octet
