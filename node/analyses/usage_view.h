// What a researcher may see of an analysis's metered usage. The rows a query
// read are one per person of its cohort in each pass (its exact size, which
// no disclosure check has seen), and a script job's output bytes are the
// sizes of outputs not yet released; both are withheld. CPU, wall time, peak
// memory and cost stay: a job can modulate them as it can its running time,
// which the analysis's state times show anyway (spec/charging.md).
#ifndef TRENODE_NODE_ANALYSES_USAGE_VIEW_H_
#define TRENODE_NODE_ANALYSES_USAGE_VIEW_H_

#include "trenode/v1/analyses.pb.h"

namespace trenode::analyses {

inline void WithholdDisclosiveUsage(trenode::v1::Usage* usage) {
  usage->clear_rows_read();
  usage->clear_output_bytes();
}

}  // namespace trenode::analyses

#endif  // TRENODE_NODE_ANALYSES_USAGE_VIEW_H_
