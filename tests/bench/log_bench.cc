// trenode-log-bench: durable appends/s to the activity log with concurrent
// appenders, as a ratio to raw batched SQLite inserts of the same rows (one
// transaction per batch, same fsync setting) measured in the same run; and
// inclusion and consistency proof latency on a large tree.
//
// usage: see kUsage.
#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "node/log/activity_log.h"
#include "node/storage/node_schema.h"
#include "node/storage/sqlite.h"
#include "tests/bench/bench_flags.h"
#include "tests/testutil/temp_dir.h"

namespace {
using trenode::log::ActivityEvent;

constexpr char kUsage[] =
    "usage: trenode-log-bench [--appenders N] [--events N] [--proof-tree N]\n"
    "Durable activity-log appends per second against raw batched SQLite inserts, then\n"
    "proof latency on a large tree.\n"
    "  --appenders   concurrent appending threads [16]\n"
    "  --events      events appended [200000]\n"
    "  --proof-tree  events in the tree the proofs are taken on [1000000]\n";

ActivityEvent Event(int appender, int n) {
  ActivityEvent event;
  event.node = "bench-node";
  event.actor = "user" + std::to_string(appender) + "@bench-node";
  event.role = "researcher";
  event.action = "catalogue.dataset.get";
  event.object = "dataset/d-" + std::to_string(n);
  event.outcome = "allow";
  return event;
}

double LogAppends(const std::string& path, int appenders, int events) {
  auto signer = *trenode::log::NoteSigner::Generate("bench");
  auto log = *trenode::log::ActivityLog::Open(path, signer);
  std::vector<std::thread> threads;
  absl::Time start = absl::Now();
  for (int a = 0; a < appenders; ++a) {
    threads.emplace_back([&, a] {
      for (int i = 0; i < events / appenders; ++i) {
        if (!log->Append(Event(a, i)).ok()) std::abort();
      }
    });
  }
  for (auto& t : threads) t.join();
  return (events / appenders) * appenders / absl::ToDoubleSeconds(absl::Now() - start);
}

// The same rows (canonical leaf, leaf hash, completed subtree hashes),
// inserted by one thread in transactions of `batch` rows with fsync at each
// commit: what SQLite itself can do.
double RawInserts(const std::string& path, int events, int batch) {
  auto db = *trenode::storage::SqliteDb::Open(path);
  (void)trenode::storage::ApplyMigrations(*db, trenode::storage::NodeSchemaMigrations());
  (void)db->Exec("PRAGMA synchronous=FULL");
  trenode::log::CompactRange range;
  std::vector<trenode::log::CompactRange::Subtree> completed;
  absl::Time start = absl::Now();
  auto insert =
      *db->Prepare("INSERT INTO log_entries(idx, leaf, leaf_hash, subtrees) VALUES (?, ?, ?, ?)");
  for (int i = 0; i < events; i += batch) {
    (void)db->Exec("BEGIN");
    for (int j = i; j < std::min(events, i + batch); ++j) {
      std::string leaf = trenode::log::CanonicalLeaf(Event(0, j));
      trenode::log::Hash hash = trenode::log::LeafHash(leaf);
      completed.clear();
      range.Append(hash, &completed);
      std::string subtrees;
      for (const auto& subtree : completed) {
        if (subtree.level > 0) subtrees += trenode::log::HashBytes(subtree.hash);
      }
      insert.Reset();
      insert.Bind(1, int64_t{j}).BindBlob(2, leaf).BindBlob(3, trenode::log::HashBytes(hash));
      if (subtrees.empty()) {
        insert.BindNull(4);
      } else {
        insert.BindBlob(4, subtrees);
      }
      if (!insert.Run().ok()) std::abort();
    }
    (void)db->Exec("COMMIT");
  }
  return events / absl::ToDoubleSeconds(absl::Now() - start);
}

}  // namespace

int main(int argc, char** argv) {
  int appenders = 16, events = 200000, proof_tree = 1000000;
  if (auto exit_status = trenode::bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--appenders", &appenders}, {"--events", &events}, {"--proof-tree", &proof_tree}})) {
    return *exit_status;
  }
  trenode::testing::TempDir dir;
  double log_rate = LogAppends(dir.File("log.db"), appenders, events);
  // The log's batches are as large as its queue; give raw SQLite 1,000-row batches.
  double raw_rate = RawInserts(dir.File("raw.db"), events, 1000);
  std::printf("activity log, %d appenders, %d events, fsync on every commit\n", appenders, events);
  std::printf("  durable appends      %10.0f /s\n", log_rate);
  std::printf("  raw batched inserts  %10.0f /s (SQLite, 1,000 rows a transaction)\n", raw_rate);
  std::printf("  ratio                %10.2f\n", log_rate / raw_rate);

  // Proofs on a large tree.
  auto signer = *trenode::log::NoteSigner::Generate("bench");
  auto log = *trenode::log::ActivityLog::Open(dir.File("proofs.db"), signer);
  {
    std::vector<std::thread> threads;
    for (int a = 0; a < 32; ++a) {
      threads.emplace_back([&, a] {
        for (int i = 0; i < proof_tree / 32; ++i) (void)log->Append(Event(a, i));
      });
    }
    for (auto& t : threads) t.join();
  }
  uint64_t size = log->size();
  constexpr int kProofs = 2000;
  absl::Time start = absl::Now();
  for (int i = 0; i < kProofs; ++i) {
    if (!log->InclusionProof((static_cast<uint64_t>(i) * 2654435761u) % size, size).ok()) return 1;
  }
  double inclusion_us = absl::ToDoubleMicroseconds(absl::Now() - start) / kProofs;
  start = absl::Now();
  for (int i = 1; i <= kProofs; ++i) {
    if (!log->ConsistencyProof((static_cast<uint64_t>(i) * 2654435761u) % (size - 1) + 1, size)
             .ok())
      return 1;
  }
  double consistency_us = absl::ToDoubleMicroseconds(absl::Now() - start) / kProofs;
  std::printf("proofs on a tree of %llu entries (mean of %d)\n",
              static_cast<unsigned long long>(size), kProofs);
  std::printf("  inclusion            %10.1f us\n", inclusion_us);
  std::printf("  consistency          %10.1f us\n", consistency_us);
  return 0;
}
