// A file a release offers, as the node builds it: its bytes, its record
// (name, size, hash, verdicts), what the rules found cell by cell, and the
// cells it publishes with the persons behind them (for the overlap ledger).
#ifndef TRENODE_NODE_RELEASES_CANDIDATE_FILE_H_
#define TRENODE_NODE_RELEASES_CANDIDATE_FILE_H_

#include <set>
#include <string>
#include <vector>

#include "node/disclosure/table.h"
#include "node/releases/ledger_store.h"
#include "trenode/v1/releases.pb.h"

namespace trenode::releases {

struct CandidateFile {
  trenode::v1::ReleaseFile meta;  // name, size, sha256, verdicts, gates
  std::string bytes;
  // What the rules found, cell by cell, before any suppression (for
  // results.json); empty for files the rules cannot read.
  disclosure::Table table;
  disclosure::TableVerdict checked;
  bool suppressed = false;  // cells were suppressed, redacted, rounded or perturbed
  // Aggregate files: every cell the file publishes (totals included), with
  // its persons; release_id is filled in when the release is made.
  std::vector<LedgerCell> published;
};

// One CSV line of `fields`, quoted where needed (RFC 4180), ending "\n".
std::string CsvLine(const std::vector<std::string>& fields);

// What the requester is told of a file's checks: its verdict and the rules
// that did not pass, in words (spec/releases.md, "Who sees what").
std::string RequesterSummary(disclosure::Verdict verdict, const std::set<std::string>& rules);
std::set<std::string> RulesOf(const disclosure::TableVerdict& verdict);

// A file with its bytes' size and SHA-256, its verdict, the checker's
// `summary` and the requester's summary of `rules`.
CandidateFile FinishFile(std::string name, std::string bytes, disclosure::Verdict verdict,
                         std::string summary, const std::set<std::string>& rules);

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_CANDIDATE_FILE_H_
