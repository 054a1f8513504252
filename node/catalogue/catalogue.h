// Catalogue: the domain rules of a node's data catalogue — what a valid
// entry is, how versions advance, and what each role may see. Knows nothing
// of gRPC or SQLite: it works through a CatalogueStore and an ObjectStore.
//
// Visibility (spec/catalogue.md): only data stewards see StewardDetails and
// retired datasets; everyone else gets NotFound for a retired dataset, as for
// one that does not exist. Who may call which operation at all is decided
// before the call, by the node's authorization policy.
//
// Thread-safe if its store and object store are.
#ifndef TRENODE_NODE_CATALOGUE_CATALOGUE_H_
#define TRENODE_NODE_CATALOGUE_CATALOGUE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "adapters/object_store.h"
#include "node/auth/principal.h"
#include "node/catalogue/catalogue_store.h"
#include "node/log/event_sink.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::catalogue {

class Catalogue {
 public:
  using Clock = std::function<absl::Time()>;

  // `store`, `objects` and `events` (if given) must outlive the catalogue.
  // Every change is recorded in `events`.
  Catalogue(CatalogueStore* store, adapters::ObjectStore* objects, Clock clock = &absl::Now,
            log::EventSink* events = nullptr)
      : store_(store), objects_(objects), clock_(std::move(clock)), events_(events) {}

  // Told of a dataset's id after a new version of it, or its retirement, is
  // stored (charging's DatasetMeter). It cannot undo the change: it reports
  // its own failures.
  using DatasetObserver = std::function<void(const std::string& dataset_id)>;
  void set_on_dataset_changed(DatasetObserver observer) {
    on_dataset_changed_ = std::move(observer);
  }

  // Version 1 of a new dataset whose data file already exists at
  // steward.storage_location. InvalidArgument for bad metadata;
  // FailedPrecondition if the file is missing; AlreadyExists for a taken id.
  absl::StatusOr<trenode::v1::Dataset> Register(const auth::Principal& caller,
                                                trenode::v1::Dataset dataset);

  // Registers `dataset` as version 1 if `expected_version` is 0, else as the
  // next version of an existing dataset, as Register and Update do.
  absl::StatusOr<trenode::v1::Dataset> Publish(const auth::Principal& caller,
                                               trenode::v1::Dataset dataset,
                                               int64_t expected_version);

  // The next version of a dataset with new descriptive metadata; empty
  // steward details keep the current ones. InvalidArgument; NotFound;
  // Aborted if `expected_version` is not the latest; FailedPrecondition if
  // the dataset is retired.
  absl::StatusOr<trenode::v1::Dataset> Update(const auth::Principal& caller,
                                              trenode::v1::Dataset dataset,
                                              int64_t expected_version);

  // InvalidArgument without a reason; NotFound; FailedPrecondition if retired.
  absl::StatusOr<trenode::v1::Dataset> Retire(const auth::Principal& caller, const std::string& id,
                                              const std::string& reason);

  absl::StatusOr<trenode::v1::Dataset> Get(const auth::Principal& caller, const std::string& id,
                                           int64_t version);

  absl::StatusOr<trenode::v1::ListDatasetsResponse> List(
      const auth::Principal& caller, const trenode::v1::ListDatasetsRequest& request);

  absl::StatusOr<trenode::v1::SearchDatasetsResponse> Search(
      const auth::Principal& caller, const trenode::v1::SearchDatasetsRequest& request);

  // Keeps the exact row counts of the tables of a version's data file, for
  // estimates (spec/charging.md, "Estimates"); never shown to anyone, never
  // logged. NotFound if there is no such version.
  absl::Status KeepTableRows(const std::string& id, int64_t version, const TableRows& rows) {
    return store_->PutTableRows(id, version, rows);
  }

 private:
  // Sets steward.sha256 from the object at steward.storage_location (never
  // from the request); FailedPrecondition if there is no object there.
  absl::Status RecordDataHash(trenode::v1::Dataset& dataset);

  DatasetObserver on_dataset_changed_;
  CatalogueStore* store_;
  adapters::ObjectStore* objects_;
  Clock clock_;
  log::EventSink* events_;
};

// The words of a free-text query: runs of letters and digits, lower-cased; a
// '*' right after a word makes it a prefix. InvalidArgument for no words,
// more than 20, or a word over 64 bytes.
absl::StatusOr<std::vector<SearchWord>> ParseSearchQuery(absl::string_view query);

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_CATALOGUE_H_
