#include "node/analyses/sqlite_analysis_store.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/storage/proto_rows.h"

namespace trenode::analyses {
namespace {
using storage::SqliteDb;
using storage::SqliteStatement;
using trenode::v1::Analysis;
using trenode::v1::AnalysisEvent;

// "?, ?, ..., ?" with `count` parameters, for an IN list.
std::string Placeholders(size_t count) {
  std::string list;
  for (size_t i = 0; i < count; ++i) list += i == 0 ? "?" : ", ?";
  return list;
}

absl::Status InsertEvent(SqliteDb& db, const AnalysisEvent& event) {
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db.PrepareCached("INSERT INTO analysis_events(analysis_id, sequence, event)"
                                    " VALUES (?, ?, ?)"));
  insert.Bind(1, event.analysis_id())
      .Bind(2, int64_t{event.sequence()})
      .BindBlob(3, event.SerializeAsString());
  return insert.Run();
}

}  // namespace

absl::Status SqliteAnalysisStore::Create(const Analysis& analysis, const std::string& body_sha256,
                                         const AnalysisEvent& first) {
  auto db = pool_->Acquire();
  storage::SqliteTransaction transaction(*db);
  RETURN_IF_ERROR(transaction.status());
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db->PrepareCached("INSERT INTO analyses(id, project_id, submitter, request_id,"
                                     " body_sha256, state, sequence, analysis, metering_pending)"
                                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  insert.Bind(1, analysis.id())
      .Bind(2, analysis.project_id())
      .Bind(3, analysis.submitter())
      .Bind(4, analysis.request_id())
      .Bind(5, body_sha256)
      .Bind(6, int64_t{analysis.state()})
      .Bind(7, int64_t{analysis.sequence()})
      .BindBlob(8, analysis.SerializeAsString())
      .Bind(9, int64_t{analysis.metering_pending() ? 1 : 0});
  absl::Status status = insert.Run();
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    return absl::AlreadyExistsError(absl::StrCat("analysis ", analysis.id(), " or request id \"",
                                                 analysis.request_id(), "\" of ",
                                                 analysis.submitter(), " already exists"));
  }
  RETURN_IF_ERROR(status);
  RETURN_IF_ERROR(InsertEvent(*db, first));
  return transaction.Commit();
}

absl::StatusOr<std::optional<std::pair<Analysis, std::string>>> SqliteAnalysisStore::FindByRequest(
    const std::string& submitter, const std::string& request_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT analysis, body_sha256 FROM analyses"
                                     " WHERE submitter = ? AND request_id = ?"));
  select.Bind(1, submitter).Bind(2, request_id);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return std::nullopt;
  ASSIGN_OR_RETURN(Analysis analysis, storage::ParseColumn<Analysis>(select, 0));
  return std::make_pair(std::move(analysis), select.Text(1));
}

absl::StatusOr<Analysis> SqliteAnalysisStore::Get(const std::string& id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT analysis FROM analyses WHERE id = ?"));
  select.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no analysis \"", id, "\" at this node"));
  return storage::ParseColumn<Analysis>(select, 0);
}

absl::Status SqliteAnalysisStore::Update(const Analysis& analysis,
                                         trenode::v1::AnalysisState expected,
                                         const AnalysisEvent& event) {
  auto db = pool_->Acquire();
  storage::SqliteTransaction transaction(*db);
  RETURN_IF_ERROR(transaction.status());
  ASSIGN_OR_RETURN(SqliteStatement update,
                   db->PrepareCached("UPDATE analyses SET state = ?, sequence = ?, analysis = ?,"
                                     " metering_pending = ? WHERE id = ? AND state = ?"));
  update.Bind(1, int64_t{analysis.state()})
      .Bind(2, int64_t{analysis.sequence()})
      .BindBlob(3, analysis.SerializeAsString())
      .Bind(4, int64_t{analysis.metering_pending() ? 1 : 0})
      .Bind(5, analysis.id())
      .Bind(6, int64_t{expected});
  RETURN_IF_ERROR(update.Run());
  if (db->Changes() != 1) {
    ASSIGN_OR_RETURN(SqliteStatement exists,
                     db->PrepareCached("SELECT 1 FROM analyses WHERE id = ?"));
    exists.Bind(1, analysis.id());
    ASSIGN_OR_RETURN(bool found, exists.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("no analysis \"", analysis.id(), "\" at this node"));
    }
    return absl::AbortedError(
        absl::StrCat("analysis ", analysis.id(), " changed meanwhile; fetch it and try again"));
  }
  RETURN_IF_ERROR(InsertEvent(*db, event));
  return transaction.Commit();
}

std::string SqliteAnalysisStore::ListSql(const AnalysisFilter& filter) {
  // Only the filters given appear, so that SQLite serves each combination
  // from an index ((project_id, id, ...), (submitter, id, ...), (state, id)) rather
  // than walking every analysis in id order.
  std::string sql = "SELECT analysis FROM analyses WHERE id > ?";
  if (!filter.project_id.empty()) sql += " AND project_id = ?";
  if (!filter.submitter.empty()) sql += " AND submitter = ?";
  if (filter.state != 0) sql += " AND state = ?";
  sql += " ORDER BY id LIMIT ?";
  return sql;
}

absl::StatusOr<std::vector<Analysis>> SqliteAnalysisStore::List(const AnalysisFilter& filter,
                                                                const std::string& after_id,
                                                                int limit, int64_t max_bytes,
                                                                bool* cut) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select, db->PrepareCached(ListSql(filter)));
  int index = 1;
  select.Bind(index++, after_id);
  if (!filter.project_id.empty()) select.Bind(index++, filter.project_id);
  if (!filter.submitter.empty()) select.Bind(index++, filter.submitter);
  if (filter.state != 0) select.Bind(index++, int64_t{filter.state});
  select.Bind(index, int64_t{limit});
  std::vector<Analysis> page;
  int64_t bytes = 0;
  *cut = false;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return page;
    if (!page.empty() && bytes >= max_bytes) {
      *cut = true;
      return page;
    }
    ASSIGN_OR_RETURN(Analysis analysis, storage::ParseColumn<Analysis>(select, 0));
    bytes += static_cast<int64_t>(analysis.ByteSizeLong());
    page.push_back(std::move(analysis));
  }
}

std::string SqliteAnalysisStore::VersionsSql(const AnalysisFilter& filter) {
  // As ListSql: only the filters given, a project's or a submitter's read
  // from its covering (…, id, sequence) index alone.
  std::string sql = "SELECT id, sequence FROM analyses WHERE 1";
  if (!filter.project_id.empty()) sql += " AND project_id = ?";
  if (!filter.submitter.empty()) sql += " AND submitter = ?";
  if (filter.state != 0) sql += " AND state = ?";
  return sql + " ORDER BY id";
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> SqliteAnalysisStore::Versions(
    const AnalysisFilter& filter) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select, db->PrepareCached(VersionsSql(filter)));
  int index = 1;
  if (!filter.project_id.empty()) select.Bind(index++, filter.project_id);
  if (!filter.submitter.empty()) select.Bind(index++, filter.submitter);
  if (filter.state != 0) select.Bind(index++, int64_t{filter.state});
  std::vector<std::pair<std::string, int64_t>> versions;
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) return versions;
    versions.emplace_back(select.Text(0), select.Int64(1));
  }
}

absl::StatusOr<std::vector<Analysis>> SqliteAnalysisStore::InStates(
    const std::vector<trenode::v1::AnalysisState>& states) {
  std::vector<Analysis> all;
  auto db = pool_->Acquire();
  for (trenode::v1::AnalysisState state : states) {
    ASSIGN_OR_RETURN(
        SqliteStatement select,
        db->PrepareCached("SELECT analysis FROM analyses WHERE state = ? ORDER BY id"));
    select.Bind(1, int64_t{state});
    ASSIGN_OR_RETURN(std::vector<Analysis> some, storage::ParseAllRows<Analysis>(select));
    for (Analysis& analysis : some) all.push_back(std::move(analysis));
  }
  std::sort(all.begin(), all.end(),
            [](const Analysis& a, const Analysis& b) { return a.id() < b.id(); });
  return all;
}

absl::StatusOr<std::vector<Analysis>> SqliteAnalysisStore::MeteringPending() {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT analysis FROM analyses WHERE metering_pending = 1"
                                     " ORDER BY id"));
  ASSIGN_OR_RETURN(std::vector<Analysis> marked, storage::ParseAllRows<Analysis>(select));
  std::vector<Analysis> pending;
  for (Analysis& analysis : marked) {
    if (analysis.state() == trenode::v1::ANALYSIS_STATE_CANCELLED &&
        analysis.metering_pending()) {
      pending.push_back(std::move(analysis));
      continue;
    }
    // Marked by migration 16 for every cancelled analysis stored before it:
    // the record says it is not pending, so the mark goes.
    ASSIGN_OR_RETURN(SqliteStatement clear,
                     db->PrepareCached("UPDATE analyses SET metering_pending = 0"
                                       " WHERE id = ? AND sequence = ?"));
    clear.Bind(1, analysis.id()).Bind(2, int64_t{analysis.sequence()});
    RETURN_IF_ERROR(clear.Run());
  }
  return pending;
}

absl::StatusOr<std::vector<AnalysisEvent>> SqliteAnalysisStore::Events(const std::string& id,
                                                                       int64_t from_sequence) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT event FROM analysis_events WHERE analysis_id = ?"
                                     " AND sequence >= ? ORDER BY sequence"));
  select.Bind(1, id).Bind(2, from_sequence);
  return storage::ParseAllRows<AnalysisEvent>(select);
}

absl::Status SqliteAnalysisStore::PutBundle(const trenode::v1::Bundle& bundle,
                                            const trenode::v1::BundleProposal& proposal) {
  auto db = pool_->Acquire();
  trenode::v1::Bundle record = bundle;
  record.clear_approvals();
  trenode::v1::BundleProposal proposal_record = proposal;
  proposal_record.clear_bundle();
  proposal_record.clear_approved();
  ASSIGN_OR_RETURN(
      SqliteStatement insert,
      db->PrepareCached("INSERT OR IGNORE INTO bundles(sha256, bundle) VALUES (?, ?)"));
  insert.Bind(1, bundle.sha256()).BindBlob(2, record.SerializeAsString());
  ASSIGN_OR_RETURN(SqliteStatement propose,
                   db->PrepareCached("INSERT OR IGNORE INTO bundle_proposals(project_id, sha256,"
                                     " proposed_by, proposal) VALUES (?, ?, ?, ?)"));
  propose.Bind(1, proposal.project_id())
      .Bind(2, bundle.sha256())
      .Bind(3, proposal.proposed_by())
      .BindBlob(4, proposal_record.SerializeAsString());
  return storage::InTransaction(*db, [&]() -> absl::Status {
    RETURN_IF_ERROR(insert.Run());
    return propose.Run();
  });
}

absl::StatusOr<std::vector<PositionedProposal>> SqliteAnalysisStore::ListBundleProposals(
    const BundleProposalFilter& filter, int64_t after, int limit) {
  // Only the filters given appear, so SQLite can use the proposer index.
  std::string sql =
      "SELECT p.id, p.proposal, b.bundle, EXISTS (SELECT 1 FROM bundle_approvals a WHERE"
      " a.project_id = p.project_id AND a.sha256 = p.sha256) FROM bundle_proposals p"
      " JOIN bundles b ON b.sha256 = p.sha256 WHERE p.id > ?";
  if (!filter.project_id.empty()) sql += " AND p.project_id = ?";
  if (!filter.proposed_by.empty()) sql += " AND p.proposed_by = ?";
  if (!filter.sha256.empty()) sql += " AND p.sha256 = ?";
  if (filter.awaiting_approval) {
    sql +=
        " AND NOT EXISTS (SELECT 1 FROM bundle_approvals a WHERE a.project_id = p.project_id"
        " AND a.sha256 = p.sha256)";
  }
  sql += " ORDER BY p.id LIMIT ?";
  auto db = pool_->Acquire();
  std::vector<PositionedProposal> page;
  {
    ASSIGN_OR_RETURN(SqliteStatement select, db->PrepareCached(sql));
    int index = 1;
    select.Bind(index++, after);
    if (!filter.project_id.empty()) select.Bind(index++, filter.project_id);
    if (!filter.proposed_by.empty()) select.Bind(index++, filter.proposed_by);
    if (!filter.sha256.empty()) select.Bind(index++, filter.sha256);
    select.Bind(index, int64_t{limit});
    while (true) {
      ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      PositionedProposal entry;
      entry.position = select.Int64(0);
      ASSIGN_OR_RETURN(entry.proposal,
                       storage::ParseColumn<trenode::v1::BundleProposal>(select, 1));
      ASSIGN_OR_RETURN(*entry.proposal.mutable_bundle(),
                       storage::ParseColumn<trenode::v1::Bundle>(select, 2));
      entry.proposal.set_approved(select.Int64(3) != 0);
      page.push_back(std::move(entry));
    }
  }
  if (page.empty()) return page;
  // Every approval of the page's bundles, in one read.
  std::vector<std::string> hashes;
  for (const PositionedProposal& entry : page) hashes.push_back(entry.proposal.bundle().sha256());
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  ASSIGN_OR_RETURN(SqliteStatement approvals,
                   db->Prepare(absl::StrCat("SELECT sha256, approval FROM bundle_approvals WHERE"
                                            " sha256 IN (", Placeholders(hashes.size()),
                                            ") ORDER BY sha256, project_id")));
  for (size_t i = 0; i < hashes.size(); ++i) approvals.Bind(static_cast<int>(i) + 1, hashes[i]);
  absl::flat_hash_map<std::string, std::vector<trenode::v1::BundleApproval>> by_bundle;
  while (true) {
    ASSIGN_OR_RETURN(bool row, approvals.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(trenode::v1::BundleApproval approval,
                     storage::ParseColumn<trenode::v1::BundleApproval>(approvals, 1));
    by_bundle[approvals.Text(0)].push_back(std::move(approval));
  }
  for (PositionedProposal& entry : page) {
    trenode::v1::Bundle& bundle = *entry.proposal.mutable_bundle();
    for (const auto& approval : by_bundle[bundle.sha256()]) *bundle.add_approvals() = approval;
  }
  return page;
}

absl::StatusOr<absl::flat_hash_map<std::string, std::vector<std::string>>>
SqliteAnalysisStore::ProjectsProposedBy(const std::string& person,
                                        const std::vector<std::string>& sha256s) {
  absl::flat_hash_map<std::string, std::vector<std::string>> projects;
  if (sha256s.empty()) return projects;
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->Prepare(absl::StrCat("SELECT sha256, project_id FROM bundle_proposals"
                                            " WHERE proposed_by = ? AND sha256 IN (",
                                            Placeholders(sha256s.size()), ")")));
  select.Bind(1, person);
  for (size_t i = 0; i < sha256s.size(); ++i) select.Bind(static_cast<int>(i) + 2, sha256s[i]);
  while (true) {
    ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    projects[select.Text(0)].push_back(select.Text(1));
  }
  return projects;
}

absl::StatusOr<trenode::v1::Bundle> SqliteAnalysisStore::GetBundle(const std::string& sha256) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT bundle FROM bundles WHERE sha256 = ?"));
  select.Bind(1, sha256);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("no bundle ", sha256, " at this node; upload it first"));
  }
  ASSIGN_OR_RETURN(trenode::v1::Bundle bundle,
                   storage::ParseColumn<trenode::v1::Bundle>(select, 0));
  ASSIGN_OR_RETURN(SqliteStatement approvals,
                   db->PrepareCached("SELECT approval FROM bundle_approvals WHERE sha256 = ?"
                                     " ORDER BY project_id"));
  approvals.Bind(1, sha256);
  ASSIGN_OR_RETURN(std::vector<trenode::v1::BundleApproval> all,
                   storage::ParseAllRows<trenode::v1::BundleApproval>(approvals));
  for (auto& approval : all) *bundle.add_approvals() = std::move(approval);
  return bundle;
}

absl::Status SqliteAnalysisStore::ApproveBundle(const std::string& sha256,
                                                const trenode::v1::BundleApproval& approval) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db->PrepareCached("INSERT OR REPLACE INTO bundle_approvals(project_id, sha256,"
                                     " approval) VALUES (?, ?, ?)"));
  insert.Bind(1, approval.project_id()).Bind(2, sha256).BindBlob(3, approval.SerializeAsString());
  return storage::InTransaction(*db, [&] { return insert.Run(); });
}

absl::Status SqliteAnalysisStore::PutInternals(const std::string& analysis_id,
                                               const std::string& bytes) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement put,
                   db->PrepareCached("INSERT OR REPLACE INTO analysis_internals(analysis_id, "
                                     "internals) VALUES (?, ?)"));
  put.Bind(1, analysis_id).BindBlob(2, bytes);
  return put.Run();
}

absl::StatusOr<std::string> SqliteAnalysisStore::GetInternals(const std::string& analysis_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement get,
                   db->PrepareCached("SELECT internals FROM analysis_internals WHERE "
                                     "analysis_id = ?"));
  get.Bind(1, analysis_id);
  ASSIGN_OR_RETURN(bool found, get.Step());
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("analysis ", analysis_id, " kept nothing for disclosure control"));
  }
  return get.Blob(0);
}

}  // namespace trenode::analyses
