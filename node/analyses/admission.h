// Admission: the charging check every submission passes before it is
// recorded (spec/charging.md, "Budgets"). Analyses calls Estimate and then
// Admit with its admission lock held until the analysis is stored, so that
// two submissions cannot both pass a budget that fits only one: whatever
// Admit reads of the project's committed spending is unchanged until the
// admitted analysis (with its estimate) is in the store.
// Implementations are thread-safe.
#ifndef TRENODE_NODE_ANALYSES_ADMISSION_H_
#define TRENODE_NODE_ANALYSES_ADMISSION_H_

#include "absl/status/statusor.h"
#include "trenode/v1/analyses.pb.h"

namespace trenode::analyses {

class Admission {
 public:
  virtual ~Admission() = default;
  // What `analysis` (checked, not yet stored) would cost, with its basis.
  virtual absl::StatusOr<trenode::v1::Estimate> Estimate(
      const trenode::v1::Analysis& analysis) = 0;
  // OK if its project can take `estimate` on top of what it has committed
  // this month; ResourceExhausted naming the budget, what is left and the
  // estimate otherwise.
  virtual absl::Status Admit(const trenode::v1::Analysis& analysis,
                             const trenode::v1::Estimate& estimate) = 0;
};

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_ADMISSION_H_
