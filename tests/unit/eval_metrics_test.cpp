// Tests of the metrics behind `octet eval` (src/eval/metrics.h): edit distance against a naive
// recursion, CTC greedy decoding on hand-built score tables (repeats, blanks, the space class),
// top-k against a sort-based ranking, SQNR and cosine on vectors with known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

#include "eval/metrics.h"

namespace octet {
namespace {

// Plain recursion over (prefix of a, prefix of b): the textbook definition, exponential but fine
// for strings of a few characters.
int64_t naive_edit_distance(const std::u32string& a, const std::u32string& b) {
  std::function<int64_t(size_t, size_t)> distance = [&](size_t i, size_t j) -> int64_t {
    if (i == 0) return static_cast<int64_t>(j);
    if (j == 0) return static_cast<int64_t>(i);
    return std::min({distance(i - 1, j) + 1, distance(i, j - 1) + 1,
                     distance(i - 1, j - 1) + (a[i - 1] == b[j - 1] ? 0 : 1)});
  };
  return distance(a.size(), b.size());
}

TEST(EvalMetricsTest, EditDistanceKnownPairs) {
  EXPECT_EQ(edit_distance(U"kitten", U"sitting"), 3);
  EXPECT_EQ(edit_distance(U"", U"abc"), 3);
  EXPECT_EQ(edit_distance(U"abc", U""), 3);
  EXPECT_EQ(edit_distance(U"", U""), 0);
  EXPECT_EQ(edit_distance(U"中文识别", U"中文识别"), 0);
  EXPECT_EQ(edit_distance(U"中文识别", U"中又识"), 2);  // one substitution, one deletion
}

TEST(EvalMetricsTest, EditDistanceMatchesNaiveRecursionOnRandomStrings) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> length(0, 6), letter(0, 2);  // 3 letters: many partial matches
  for (int trial = 0; trial < 300; ++trial) {
    std::u32string a, b;
    for (int i = length(random); i > 0; --i) a.push_back(U'a' + letter(random));
    for (int i = length(random); i > 0; --i) b.push_back(U'a' + letter(random));
    ASSERT_EQ(edit_distance(a, b), naive_edit_distance(a, b))
        << "a=" << code_points_to_utf8(a) << " b=" << code_points_to_utf8(b);
  }
}

TEST(EvalMetricsTest, Utf8RoundTripAndErrors) {
  const std::string text = "价格 12.50元 \xF0\x9F\x98\x80";  // CJK, ASCII, a 4-byte emoji
  const std::u32string code_points = utf8_to_code_points(text);
  EXPECT_EQ(code_points, U"价格 12.50元 \U0001F600");
  EXPECT_EQ(code_points_to_utf8(code_points), text);
  EXPECT_THROW(utf8_to_code_points("\xE4\xBB"), Error);       // truncated
  EXPECT_THROW(utf8_to_code_points("\xC0\x80"), Error);       // overlong NUL
  EXPECT_THROW(utf8_to_code_points("a\xFF"), Error);          // not a lead byte
  EXPECT_THROW(utf8_to_code_points("\xED\xA0\x80"), Error);   // surrogate
}

TEST(EvalMetricsTest, CharacterAndLineAccuracyIgnoreSpacesAndClip) {
  EXPECT_DOUBLE_EQ(character_accuracy(U"hello world", U"helloworld"), 1.0);
  EXPECT_DOUBLE_EQ(line_accuracy(U"hello world", U"hello  world "), 1.0);
  EXPECT_DOUBLE_EQ(character_accuracy(U"中文识", U"中文识别"), 0.75);
  EXPECT_DOUBLE_EQ(line_accuracy(U"中文识", U"中文识别"), 0.0);
  EXPECT_DOUBLE_EQ(character_accuracy(U"abcdefgh", U"xy"), 0.0);  // distance 8 > length 2: clipped
  EXPECT_DOUBLE_EQ(character_accuracy(U"", U""), 1.0);
  EXPECT_DOUBLE_EQ(character_accuracy(U"a", U""), 0.0);  // divided by max(len, 1)
}

// Scores [1, T, C] whose argmax at step t is best[t].
Tensor ctc_scores(const std::vector<int64_t>& best, int64_t classes) {
  const auto steps = static_cast<int64_t>(best.size());
  std::vector<float> values(static_cast<size_t>(steps * classes), 0.1f);
  for (int64_t t = 0; t < steps; ++t) values[static_cast<size_t>(t * classes + best[static_cast<size_t>(t)])] = 0.9f;
  return Tensor::from_vector<float>({1, steps, classes}, values);
}

TEST(EvalMetricsTest, CtcGreedyDecodeCollapsesRepeatsAndDropsBlanks) {
  constexpr int64_t kClasses = 6;
  // "a a - a b b - - c": repeats collapse, a blank separates two real 'a's.
  EXPECT_EQ(ctc_greedy_decode(ctc_scores({1, 1, 0, 1, 2, 2, 0, 0, 3}, kClasses)), (std::vector<int64_t>{1, 1, 2, 3}));
  EXPECT_EQ(ctc_greedy_decode(ctc_scores({0, 0, 0}, kClasses)), std::vector<int64_t>{});
  EXPECT_EQ(ctc_greedy_decode(ctc_scores({5, 5, 4, 5}, kClasses)), (std::vector<int64_t>{5, 4, 5}));
  // Rank 2 [T, C] is accepted too; batch > 1 is not.
  Tensor two_d = ctc_scores({2, 0, 2}, kClasses);
  two_d.reshape({3, kClasses});
  EXPECT_EQ(ctc_greedy_decode(two_d), (std::vector<int64_t>{2, 2}));
  EXPECT_THROW(ctc_greedy_decode(Tensor(DataType::kFloat, {2, 3, kClasses})), Error);
}

TEST(EvalMetricsTest, CtcDictionaryMapsClassesAndTheSpaceClass) {
  const CtcDictionary dictionary({U"中", U"文", U"a"});
  const std::vector<int64_t> classes = {1, 2, 4, 3};
  // blank + 3 entries + space = 5 classes: class 4 is the space.
  EXPECT_EQ(dictionary.decode(classes, 5), U"中文 a");
  // blank + 3 entries = 4 classes: there is no class 4.
  EXPECT_THROW(dictionary.decode(classes, 4), Error);
  EXPECT_EQ(dictionary.decode(std::vector<int64_t>{3, 1}, 4), U"a中");
  // A dictionary that does not fit the model is an error, not garbage text.
  EXPECT_THROW(dictionary.decode(std::vector<int64_t>{1}, 7), Error);
}

// Sort-based oracle: the label's rank among a stable descending sort of the class indices.
bool sorted_top_k(const std::vector<float>& scores, int64_t label, int64_t k) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  return std::find(order.begin(), order.begin() + std::min<int64_t>(k, order.size()), label) !=
         order.begin() + std::min<int64_t>(k, order.size());
}

TEST(EvalMetricsTest, TopKMatchesSortedRankingIncludingTies) {
  std::mt19937 random(11);
  std::uniform_int_distribution<int> level(0, 4);  // few distinct scores: many ties
  for (int trial = 0; trial < 200; ++trial) {
    const int classes = 1 + trial % 13;
    std::vector<float> scores(static_cast<size_t>(classes));
    for (float& score : scores) score = static_cast<float>(level(random));
    for (int64_t label = 0; label < classes; ++label)
      for (int64_t k : {1, 5})
        ASSERT_EQ(top_k_contains(scores, label, k), sorted_top_k(scores, label, k))
            << "trial " << trial << " classes " << classes << " label " << label << " k " << k;
  }
  EXPECT_THROW(top_k_contains(std::vector<float>{1, 2}, 2, 1), Error);
}

TEST(EvalMetricsTest, ClassScoresAcceptsOneByCOrC) {
  const Tensor batch = Tensor::from_vector<float>({1, 3}, {0.1f, 0.7f, 0.2f});
  EXPECT_EQ(class_scores(batch).size(), 3u);
  const Tensor vector = Tensor::from_vector<float>({3}, {0.1f, 0.7f, 0.2f});
  EXPECT_TRUE(top_k_contains(class_scores(vector), 1, 1));
  EXPECT_THROW(class_scores(Tensor(DataType::kFloat, {2, 3})), Error);
}

TEST(EvalMetricsTest, SqnrAndCosineOnKnownVectors) {
  const Tensor reference = Tensor::from_vector<float>({4}, {3, 0, 4, 0});
  // Error (0.5, 0, 0, 0): energy 25 / 0.25 = 100 -> 20 dB.
  const Tensor output = Tensor::from_vector<float>({4}, {2.5f, 0, 4, 0});
  ReferenceSums sums;
  sums.add(reference, output);
  EXPECT_NEAR(sqnr_db(sums), 20.0, 1e-9);
  // cos = (7.5 + 16) / (5 * sqrt(6.25 + 16))
  EXPECT_NEAR(cosine_similarity(sums), 23.5 / (5.0 * std::sqrt(22.25)), 1e-12);

  ReferenceSums same;
  same.add(reference, reference);
  EXPECT_TRUE(std::isinf(sqnr_db(same)));
  EXPECT_NEAR(cosine_similarity(same), 1.0, 1e-12);

  const Tensor negated = Tensor::from_vector<float>({4}, {-3, 0, -4, 0});
  ReferenceSums opposite;
  opposite.add(reference, negated);
  EXPECT_NEAR(cosine_similarity(opposite), -1.0, 1e-12);
  // Error 2*ref: energy ratio 1/4 -> -6.02 dB.
  EXPECT_NEAR(sqnr_db(opposite), 10 * std::log10(0.25), 1e-9);

  EXPECT_THROW(sums.add(reference, Tensor(DataType::kFloat, {5})), Error);
}

TEST(EvalMetricsTest, TopOneAgreementCountsRowsOfTheLastAxis) {
  // Rows (argmax): reference 1, 0, 2; output 1, 2, 2.
  const Tensor reference = Tensor::from_vector<float>({1, 3, 3}, {0, 9, 1, 5, 1, 2, 0, 0, 3});
  const Tensor output = Tensor::from_vector<float>({1, 3, 3}, {0, 8, 1, 1, 1, 2, 1, 0, 4});
  const Agreement agreement = top1_agreement(reference, output);
  EXPECT_EQ(agreement.rows, 3);
  EXPECT_EQ(agreement.agreeing, 2);
}

TEST(EvalMetricsTest, MetricNames) {
  EXPECT_EQ(parse_metric_name("ctc-char-accuracy"), MetricKind::kCtcCharAccuracy);
  EXPECT_TRUE(metric_needs_reference(parse_metric_name("sqnr")));
  EXPECT_TRUE(metric_needs_dictionary(parse_metric_name("ctc-line-accuracy")));
  try {
    parse_metric_name("top3");
    FAIL() << "no error for an unknown metric";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("top1, top5"), std::string::npos) << error.what();
  }
  EXPECT_EQ(parse_metric_name("text-det-hmean"), MetricKind::kTextDetHmean);
  EXPECT_FALSE(metric_needs_dictionary(MetricKind::kTextDetHmean));
  EXPECT_FALSE(metric_needs_reference(MetricKind::kTextDetHmean));
}

}  // namespace
}  // namespace octet
