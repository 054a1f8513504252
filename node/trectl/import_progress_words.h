// ImportProgressWords: what the node says it is doing with an import
// (trenode.v1.ImportProgress events), in words for the progress line: the
// phase, the table or index, rows and bytes of the total, and, once a phase
// has run for half a second, its rate and the time it has left.
//
// Not thread-safe: one import, one thread.
#ifndef TRENODE_NODE_TRECTL_IMPORT_PROGRESS_WORDS_H_
#define TRENODE_NODE_TRECTL_IMPORT_PROGRESS_WORDS_H_

#include <string>

#include "absl/time/time.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::trectl {

class ImportProgressWords {
 public:
  struct Words {
    std::string text;
    bool new_phase = false;  // the phase differs from the last event's
  };

  // `now` is when `event` arrived; rates are measured from the first event
  // of a run of events of one phase.
  Words Describe(const trenode::v1::ImportProgress& event, absl::Time now);

 private:
  trenode::v1::ImportProgress::Phase phase_ = trenode::v1::ImportProgress::PHASE_UNSPECIFIED;
  absl::Time phase_start_ = absl::InfinitePast();
  int64_t rows_at_start_ = 0;
  int64_t bytes_at_start_ = 0;
};

}  // namespace trenode::trectl

#endif  // TRENODE_NODE_TRECTL_IMPORT_PROGRESS_WORDS_H_
