#include "node/governance/sqlite_governance_store.h"

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/storage/proto_rows.h"

namespace trenode::governance {
namespace {
using storage::SqliteStatement;
using trenode::v1::Membership;
using trenode::v1::Project;
using trenode::v1::TrainingRecord;

absl::Status Upsert(storage::SqliteDb& db, const Membership& membership) {
  ASSIGN_OR_RETURN(SqliteStatement upsert,
                   db.PrepareCached("INSERT INTO memberships(project_id, person, state, record)"
                                    " VALUES (?, ?, ?, ?) ON CONFLICT(project_id, person)"
                                    " DO UPDATE SET state = excluded.state,"
                                    " record = excluded.record"));
  upsert.Bind(1, membership.project_id())
      .Bind(2, membership.person())
      .Bind(3, int64_t{membership.state()})
      .BindBlob(4, membership.SerializeAsString());
  return upsert.Run();
}

}  // namespace

absl::Status SqliteGovernanceStore::CreateProject(const Project& project) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db->PrepareCached("INSERT INTO projects(id, state, principal_investigator,"
                                     " record) VALUES (?, ?, ?, ?)"));
  insert.Bind(1, project.id())
      .Bind(2, int64_t{project.state()})
      .Bind(3, project.principal_investigator())
      .BindBlob(4, project.SerializeAsString());
  return storage::InTransaction(*db, [&]() -> absl::Status {
    absl::Status status = insert.Run();
    if (status.code() == absl::StatusCode::kFailedPrecondition) {
      return absl::AlreadyExistsError(
          absl::StrCat("project \"", project.id(), "\" already exists"));
    }
    return status;
  });
}

absl::StatusOr<Project> SqliteGovernanceStore::GetProject(const std::string& id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT record FROM projects WHERE id = ?"));
  select.Bind(1, id);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no project \"", id, "\" at this node"));
  return storage::ParseColumn<Project>(select, 0);
}

absl::Status SqliteGovernanceStore::UpdateProject(const Project& project,
                                                  trenode::v1::ProjectState expected_state,
                                                  const std::optional<Membership>& membership) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement update,
                   db->PrepareCached("UPDATE projects SET state = ?, principal_investigator = ?,"
                                     " record = ? WHERE id = ? AND state = ?"));
  update.Bind(1, int64_t{project.state()})
      .Bind(2, project.principal_investigator())
      .BindBlob(3, project.SerializeAsString())
      .Bind(4, project.id())
      .Bind(5, int64_t{expected_state});
  return storage::InTransaction(*db, [&]() -> absl::Status {
    RETURN_IF_ERROR(update.Run());
    if (db->Changes() == 1) return membership ? Upsert(*db, *membership) : absl::OkStatus();
    RETURN_IF_ERROR(GetProject(project.id()).status());
    return absl::AbortedError(
        absl::StrCat("project \"", project.id(), "\" changed meanwhile; fetch it and try again"));
  });
}

absl::StatusOr<std::vector<Project>> SqliteGovernanceStore::ListProjects(
    const std::string& after_id, int limit, const std::optional<std::string>& person) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(
      SqliteStatement select,
      db->PrepareCached("SELECT record FROM projects p WHERE p.id > ?1 AND (?2 IS NULL"
                        " OR p.principal_investigator = ?2 OR EXISTS (SELECT 1 FROM memberships m"
                        " WHERE m.project_id = p.id AND m.person = ?2 AND m.state != ?3))"
                        " ORDER BY p.id LIMIT ?4"));
  select.Bind(1, after_id);
  if (person)
    select.Bind(2, *person);
  else
    select.BindNull(2);
  select.Bind(3, int64_t{trenode::v1::MEMBERSHIP_STATE_REVOKED}).Bind(4, int64_t{limit});
  return storage::ParseAllRows<Project>(select);
}

absl::StatusOr<std::vector<Project>> SqliteGovernanceStore::ProjectsInStates(
    const std::vector<trenode::v1::ProjectState>& states) {
  std::vector<Project> all;
  auto db = pool_->Acquire();
  for (trenode::v1::ProjectState state : states) {
    ASSIGN_OR_RETURN(SqliteStatement select,
                     db->PrepareCached("SELECT record FROM projects WHERE state = ? ORDER BY id"));
    select.Bind(1, int64_t{state});
    ASSIGN_OR_RETURN(std::vector<Project> some, storage::ParseAllRows<Project>(select));
    all.insert(all.end(), some.begin(), some.end());
  }
  std::sort(all.begin(), all.end(),
            [](const Project& a, const Project& b) { return a.id() < b.id(); });
  return all;
}

absl::StatusOr<std::optional<Membership>> SqliteGovernanceStore::GetMembership(
    const std::string& project_id, const std::string& person) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT record FROM memberships WHERE project_id = ?"
                                     " AND person = ?"));
  select.Bind(1, project_id).Bind(2, person);
  ASSIGN_OR_RETURN(bool found, select.Step());
  if (!found) return std::nullopt;
  ASSIGN_OR_RETURN(Membership membership, storage::ParseColumn<Membership>(select, 0));
  return membership;
}

absl::Status SqliteGovernanceStore::PutMembership(const Membership& membership) {
  auto db = pool_->Acquire();
  return storage::InTransaction(*db, [&] { return Upsert(*db, membership); });
}

absl::StatusOr<std::vector<Membership>> SqliteGovernanceStore::ListMembers(
    const std::string& project_id) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT record FROM memberships WHERE project_id = ?"
                                     " ORDER BY person"));
  select.Bind(1, project_id);
  return storage::ParseAllRows<Membership>(select);
}

absl::Status SqliteGovernanceStore::AddTraining(const TrainingRecord& record) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement insert,
                   db->PrepareCached("INSERT INTO training_records(person, record) VALUES (?, ?)"));
  insert.Bind(1, record.person()).BindBlob(2, record.SerializeAsString());
  return storage::InTransaction(*db, [&] { return insert.Run(); });
}

absl::StatusOr<std::vector<TrainingRecord>> SqliteGovernanceStore::ListTraining(
    const std::string& person) {
  auto db = pool_->Acquire();
  ASSIGN_OR_RETURN(SqliteStatement select,
                   db->PrepareCached("SELECT record FROM training_records WHERE person = ?"
                                     " ORDER BY rowid"));
  select.Bind(1, person);
  return storage::ParseAllRows<TrainingRecord>(select);
}

}  // namespace trenode::governance
