#include "node/disclosure/regression.h"

#include <random>

#include "gtest/gtest.h"

namespace trenode::disclosure {
namespace {

Policy Acro() { return *Preset("acro"); }

// y = 2 + 3 x exactly, then with noise: the fit recovers the coefficients
// and its standard errors match the textbook formula for one predictor.
TEST(RegressionTest, FitsOrdinaryLeastSquaresFromSufficientStatistics) {
  std::mt19937 random(3);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> xtx(4, 0), xty(2, 0);
  double yty = 0;
  std::vector<double> xs, ys;
  for (int i = 0; i < 500; ++i) {
    double x = i % 17, y = 2 + 3 * x + noise(random);
    xs.push_back(x), ys.push_back(y);
    double row[2] = {1, x};
    for (int a = 0; a < 2; ++a) {
      for (int b = 0; b < 2; ++b) xtx[a * 2 + b] += row[a] * row[b];
      xty[a] += row[a] * y;
    }
    yty += y * y;
  }
  auto fit = FitOls(xtx, xty, yty, 500);
  ASSERT_TRUE(fit.ok()) << fit.status();
  double mean_x = 0, mean_y = 0;
  for (int i = 0; i < 500; ++i) mean_x += xs[i] / 500, mean_y += ys[i] / 500;
  double sxx = 0, sxy = 0;
  for (int i = 0; i < 500; ++i) sxx += (xs[i] - mean_x) * (xs[i] - mean_x), sxy += (xs[i] - mean_x) * (ys[i] - mean_y);
  double slope = sxy / sxx, intercept = mean_y - slope * mean_x;
  double rss = 0;
  for (int i = 0; i < 500; ++i) rss += std::pow(ys[i] - intercept - slope * xs[i], 2);
  EXPECT_NEAR(fit->coefficients[1], slope, 1e-9);
  EXPECT_NEAR(fit->coefficients[0], intercept, 1e-8);
  EXPECT_NEAR(fit->standard_errors[1], std::sqrt(rss / 498 / sxx), 1e-9);
}

TEST(RegressionTest, CollinearTermsAreNotIdentifiable) {
  // x2 = 2 x1.
  std::vector<double> xtx = {1, 2, 2, 4};
  EXPECT_EQ(FitOls(xtx, {1, 2}, 5, 10).status().code(), absl::StatusCode::kFailedPrecondition);
}

// The single-person attack: an indicator selecting one person fails the
// levels rule whatever else passes.
TEST(RegressionTest, RulesRefuseRareLevelsFewPersonsAndManyParameters) {
  std::vector<TermLevels> one_person = {{"indicator", {0, 1}, {499, 1}}};
  CellVerdict verdict = CheckRegressionFit(500, 2, one_person, 0.01, Acro());
  ASSERT_EQ(verdict.verdict, Verdict::kFail);
  EXPECT_EQ(verdict.outcomes[0].rule, kRegressionLevels);
  EXPECT_EQ(CheckRegressionFit(500, 2, {{"indicator", {0, 1}, {490, 10}}}, 0.1, Acro()).verdict,
            Verdict::kPass);
  // 9 persons: below the threshold; 33 parameters for 99 persons pass, 34 fail.
  EXPECT_EQ(CheckRegressionFit(9, 1, {}, 0, Acro()).outcomes.back().rule, kRegressionN);
  EXPECT_EQ(CheckRegressionFit(100, 33, {}, 0.05, Acro()).verdict, Verdict::kPass);
  EXPECT_EQ(CheckRegressionFit(100, 34, {}, 0.05, Acro()).outcomes.back().rule, kRegressionParameters);
}

// Two predictors that each split the persons evenly can still span one
// person (the issue-11 review: A and "A but not the target"): the fit then
// passes through that person, whose leverage is 1. The leverage rule stops
// it whatever the coding, and every preset keeps the rules on.
TEST(RegressionTest, LeverageStopsAFitThatFollowsOnePersonUnderEveryPreset) {
  for (const char* preset : {"acro", "opensafely", "datashield", "cell_key"}) {
    Policy policy = *Preset(preset);
    CellVerdict verdict = CheckRegressionFit(20000, 3, {}, 1.0, policy);
    ASSERT_EQ(verdict.verdict, Verdict::kFail) << preset;
    EXPECT_EQ(verdict.outcomes.back().rule, kRegressionLeverage) << preset;
    EXPECT_EQ(CheckRegressionFit(2, 1, {}, 0.0, policy).verdict, Verdict::kFail) << preset;
    EXPECT_EQ(CheckRegressionFit(20000, 2, {{"(outcome)", {0, 1}, {19999, 1}}}, 0.0, policy)
                  .outcomes.back()
                  .rule,
              kRegressionLevels)
        << preset;
  }
  // Leverage exactly 1/k passes: a group of k persons.
  EXPECT_EQ(CheckRegressionFit(20000, 3, {}, 0.1, Acro()).verdict, Verdict::kPass);
}

TEST(RegressionTest, InvertsAMatrix) {
  auto inverse = InvertSymmetric({4, 7, 2, 6});
  ASSERT_TRUE(inverse.ok());
  EXPECT_NEAR((*inverse)[0], 0.6, 1e-12);
  EXPECT_NEAR((*inverse)[1], -0.7, 1e-12);
  EXPECT_NEAR((*inverse)[2], -0.2, 1e-12);
  EXPECT_NEAR((*inverse)[3], 0.4, 1e-12);
}

}  // namespace
}  // namespace trenode::disclosure
