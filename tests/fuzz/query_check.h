// What the query harnesses (text and wire format) check once a query has
// parsed: CompileQuery against a fixed dataset either refuses it with
// InvalidArgument or returns a plan whose statement SQLite accepts, with one
// bound value per ?N, that runs, and whose outputs name columns the
// statement has; compiling it again gives the same statement.
#ifndef TRENODE_TESTS_FUZZ_QUERY_CHECK_H_
#define TRENODE_TESTS_FUZZ_QUERY_CHECK_H_

#include "trenode/v1/catalogue.pb.h"
#include "trenode/v1/query.pb.h"

namespace trenode::fuzz {

// trenode-synth's catalogue metadata with the categories an import records,
// plus columns for the compiler's corners: a DATE of birth, a REAL and a
// TEXT column that may be missing, a TEXT column with too many values to
// record, one holding "(missing)", and names that need quoting.
const trenode::v1::Dataset& FuzzDataset();

// Compiles `query` and traps on any broken promise.
void CheckCompiledQuery(const trenode::v1::AggregateQuery& query);

}  // namespace trenode::fuzz

#endif  // TRENODE_TESTS_FUZZ_QUERY_CHECK_H_
