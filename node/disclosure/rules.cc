#include "node/disclosure/rules.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"

namespace trenode::disclosure {
namespace {

using Wide = __int128;

int64_t Abs(int64_t v) { return v < 0 ? -v : v; }

void Add(CellVerdict& verdict, const char* rule, Verdict outcome, std::string reason) {
  verdict.outcomes.push_back({rule, outcome, std::move(reason)});
  verdict.verdict = Worse(verdict.verdict, outcome);
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kReview:
      return "review";
    case Verdict::kFail:
      return "fail";
  }
  return "fail";
}

std::string RuleWords(absl::string_view rule) {
  static const auto* words = new std::map<std::string, std::string, std::less<>>{
      {kThreshold, "minimum cell count (threshold)"},
      {kZeros, "cells of zero persons (zeros)"},
      {kMinNonzero, "minimum non-zero cell count (min-nonzero)"},
      {kRedact, "counts at or below the redaction limit (redact)"},
      {kNkRule, "dominance by the largest contributors (nk-rule)"},
      {kPRatio, "the largest contribution could be estimated closely (p-ratio)"},
      {kNegative, "negative contributions (negative)"},
      {kSameValue, "every contributor has the same value (all-values-are-same)"},
      {kDof, "residual degrees of freedom (dof)"},
      {kRegressionN, "too few persons in the model (regression-n)"},
      {kRegressionParameters, "too many parameters for the persons (regression-parameters)"},
      {kRegressionLevels, "a value of a term held by too few persons (regression-levels)"},
      {kRegressionLeverage, "the fit could follow too few persons (regression-leverage)"},
      {kSummaryLevels, "a value held by too few persons (summary-levels)"},
      {kTotals, "a published total fails the rules (totals)"},
      {kLinked, "the tables could not be protected automatically (linked-tables)"},
      {kOverlap, "close to a cell released before (overlap)"},
  };
  auto found = words->find(rule);
  return found == words->end() ? std::string(rule) : found->second;
}

Verdict Worse(Verdict a, Verdict b) { return static_cast<int>(a) >= static_cast<int>(b) ? a : b; }

CellFacts MagnitudeFacts(const std::vector<int64_t>& contributions) {
  CellFacts facts;
  facts.magnitude = true;
  facts.contributors = static_cast<int64_t>(contributions.size());
  facts.largest = contributions;
  std::sort(facts.largest.begin(), facts.largest.end(),
            [](int64_t a, int64_t b) { return Abs(a) > Abs(b); });
  for (int64_t value : contributions) {
    facts.total += value;
    facts.negatives += value < 0;
  }
  facts.single_value =
      !contributions.empty() && std::all_of(contributions.begin(), contributions.end(),
                                            [&](int64_t v) { return v == contributions[0]; });
  return facts;
}

CellVerdict CheckCell(const CellFacts& cell, const Policy& policy) {
  CellVerdict verdict;
  const int64_t n = cell.contributors;
  if (policy.redact_at_or_below >= 0 && n <= policy.redact_at_or_below) {
    Add(verdict, kRedact, Verdict::kFail,
        absl::StrCat(n, " is at most ", policy.redact_at_or_below, ": redacted"));
  }
  if (policy.zeros_disclosive && n == 0) {
    Add(verdict, kZeros, Verdict::kFail, "a zero cell discloses that no one has this combination");
  }
  if (policy.threshold > 0 && n < policy.threshold) {
    Add(verdict, kThreshold, Verdict::kFail,
        absl::StrCat(n, " contributors, fewer than the threshold of ", policy.threshold));
  }
  if (policy.min_nonzero > 0 && n > 0 && n < policy.min_nonzero) {
    Add(verdict, kMinNonzero, Verdict::kFail,
        absl::StrCat(n, " contributors, fewer than the minimum non-zero cell of ",
                     policy.min_nonzero));
  }
  if (!cell.magnitude || n == 0) return verdict;
  if (cell.single_value) {
    Add(verdict, kSameValue, Verdict::kReview,
        "every contributor has the same value, so each one's value is disclosed");
  }
  bool dominance_rules = policy.nk_n > 0 || policy.p_percent > 0;
  if (dominance_rules && (cell.negatives > 0 || cell.total <= 0)) {
    Add(verdict, kNegative, Verdict::kReview,
        "negative contributions: dominance and p% cannot be judged automatically");
    return verdict;
  }
  if (policy.nk_n > 0 && n > 0) {
    Wide top = 0;
    for (int64_t i = 0; i < policy.nk_n && i < static_cast<int64_t>(cell.largest.size()); ++i) {
      top += cell.largest[i];
    }
    // Fails if top >= k% of total, as ACRO does: 100 * top >= k * total.
    if (top * 100 >= static_cast<Wide>(policy.nk_k_percent) * cell.total) {
      Add(verdict, kNkRule, Verdict::kFail,
          absl::StrCat("the ", policy.nk_n, " largest contributions are ",
                       policy.nk_k_percent, "% of the total or more"));
    }
  }
  if (policy.p_percent > 0 && !cell.largest.empty()) {
    Wide x1 = cell.largest[0];
    Wide x2 = cell.largest.size() > 1 ? cell.largest[1] : 0;
    Wide rest = static_cast<Wide>(cell.total) - x1 - x2;
    // Fails if the others' sum is below p% of the largest: 100 * rest < p * x1.
    if (rest * 100 < static_cast<Wide>(policy.p_percent) * x1) {
      Add(verdict, kPRatio, Verdict::kFail,
          absl::StrCat("the second largest contributor could estimate the largest to within ",
                       policy.p_percent, "%"));
    }
  }
  return verdict;
}

CellVerdict CheckRegression(int64_t residual_dof, const Policy& policy) {
  CellVerdict verdict;
  if (policy.min_dof > 0 && residual_dof < policy.min_dof) {
    Add(verdict, kDof, Verdict::kFail,
        absl::StrCat(residual_dof, " residual degrees of freedom, fewer than ", policy.min_dof));
  }
  return verdict;
}

}  // namespace trenode::disclosure
