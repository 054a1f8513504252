// A synthetic site on a TestNode, as the analyses tests need it: the site's
// dataset imported by a steward, a project approved for it, and its
// researcher trained.
#ifndef TRENODE_TESTS_TESTUTIL_TEST_SITE_H_
#define TRENODE_TESTS_TESTUTIL_TEST_SITE_H_

#include <filesystem>
#include <string>
#include <vector>

#include "node/synth/generator.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/governance.pb.h"
#include "trenode/v1/query.pb.h"

namespace trenode::testing {

// Generates the site and imports it as steward "sam"; returns the dataset
// file's path on the node. Fails the test on error.
std::filesystem::path ImportSyntheticSite(const TestNode& node, const synth::SynthOptions& site);

// `researcher` proposes `project` for `dataset_id`, steward "sam" approves it
// for a year (with `preapproved` query kinds) and records the researcher's
// training. Fails the test on error.
void ApproveProjectWithTrainedResearcher(
    const TestNode& node, const std::string& project, const std::string& dataset_id,
    const std::string& researcher, const std::vector<trenode::v1::OutputKind>& preapproved = {});

// Steward "sam" creates `project` with `person` (subject@node-id, of this
// node or of a partner) as its principal investigator, approves it for a
// year for `dataset` with `preapproved` query kinds, passing aggregate
// outputs auto-released (olu@<node> responsible) and `federated_results`,
// and records the person's training. False, after a test failure, on error.
bool ApproveProjectForPerson(
    const TestNode& node, const std::string& project, const std::string& dataset,
    const std::string& person, const std::vector<trenode::v1::OutputKind>& preapproved,
    trenode::v1::FederatedResults federated_results = trenode::v1::FEDERATED_RESULTS_POOLED_ONLY);

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_TEST_SITE_H_
