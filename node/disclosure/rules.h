// The disclosure-control rules on one cell (spec/disclosure.md, "Rules"),
// in exact integer arithmetic: contributions are integers (callers scale
// decimals to a fixed unit), and every comparison is made on products in 128
// bits, never on quotients.
#ifndef TRENODE_NODE_DISCLOSURE_RULES_H_
#define TRENODE_NODE_DISCLOSURE_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "node/disclosure/policy.h"

namespace trenode::disclosure {

enum class Verdict { kPass, kReview, kFail };
const char* VerdictName(Verdict verdict);  // "pass", "review", "fail"
Verdict Worse(Verdict a, Verdict b);

// The rule names, as in ACRO's results.json where ACRO has the rule.
inline constexpr char kThreshold[] = "threshold";
inline constexpr char kZeros[] = "zeros";
inline constexpr char kMinNonzero[] = "min-nonzero";
inline constexpr char kRedact[] = "redact";
inline constexpr char kNkRule[] = "nk-rule";
inline constexpr char kPRatio[] = "p-ratio";
inline constexpr char kNegative[] = "negative";
inline constexpr char kSameValue[] = "all-values-are-same";
inline constexpr char kDof[] = "dof";
// Regressions (DataSHIELD's glm filters): too few persons, too many
// parameters for them, or a few-valued predictor with a rare value.
inline constexpr char kRegressionN[] = "regression-n";
inline constexpr char kRegressionParameters[] = "regression-parameters";
inline constexpr char kRegressionLevels[] = "regression-levels";
inline constexpr char kRegressionLeverage[] = "regression-leverage";
// Summaries of a few-valued value: each value held by enough persons.
inline constexpr char kSummaryLevels[] = "summary-levels";
// A published total (row, column or grand) fails the cell rules.
inline constexpr char kTotals[] = "totals";
// Linked tables could not be audited jointly (or a file could not be
// protected automatically): an output checker decides.
inline constexpr char kLinked[] = "linked-tables";
// A cell differs from a released one by fewer persons than the overlap
// threshold (the overlap audit).
inline constexpr char kOverlap[] = "overlap";

// A rule in words for the requester, who may not see cells: e.g.
// "minimum cell count (threshold)". Unknown names are returned as given.
std::string RuleWords(absl::string_view rule);

// What the rules need to know about a cell.
struct CellFacts {
  int64_t contributors = 0;
  bool magnitude = false;
  // Magnitude cells: the sum of the contributions, the largest ones by
  // absolute value (descending; at least max(nk_n, 2) of them when there
  // are that many), how many are negative, and whether all are equal.
  int64_t total = 0;
  std::vector<int64_t> largest;
  int64_t negatives = 0;
  bool single_value = false;
};

// Builds the facts of a magnitude cell from all its contributions.
CellFacts MagnitudeFacts(const std::vector<int64_t>& contributions);

struct RuleOutcome {
  std::string rule;
  Verdict verdict;
  std::string reason;
};

struct CellVerdict {
  Verdict verdict = Verdict::kPass;
  std::vector<RuleOutcome> outcomes;  // the rules that did not pass
};

CellVerdict CheckCell(const CellFacts& cell, const Policy& policy);

// The residual degrees-of-freedom rule for a regression.
CellVerdict CheckRegression(int64_t residual_dof, const Policy& policy);

}  // namespace trenode::disclosure

#endif  // TRENODE_NODE_DISCLOSURE_RULES_H_
