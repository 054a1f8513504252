// PriceTable: the node's prices per backend (config `charging`,
// spec/charging.md "Prices"), in micro-units of one currency, and the cost
// of a usage by them. Immutable once made; thread-safe.
#ifndef TRENODE_NODE_CHARGING_PRICES_H_
#define TRENODE_NODE_CHARGING_PRICES_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "trenode/v1/analyses.pb.h"
#include "trenode/v1/config.pb.h"

namespace trenode::charging {

// The backends a price table row may name.
inline constexpr const char* kBackends[] = {"query", "sandbox", "slurm", "aws-batch",
                                            "azure-batch", "storage"};
// The row that prices storage and egress (and only those).
inline constexpr const char* kStorageRow = "storage";

struct Prices {
  int64_t cpu_hour = 0;
  int64_t memory_gib_hour = 0;
  int64_t storage_gib_month = 0;
  int64_t egress_gib = 0;
  int64_t per_analysis = 0;
  int64_t dataset_gib_month = 0;
};

class PriceTable {
 public:
  // No prices: everything is metered and costs 0 (currency "").
  PriceTable() = default;
  // InvalidArgument naming the field for an unknown or repeated backend, a
  // malformed amount, or prices without a currency (three capital letters).
  static absl::StatusOr<PriceTable> FromConfig(const trenode::v1::ChargingConfig& config);

  const std::string& currency() const { return currency_; }
  // The backend's prices; all 0 for a backend without a row.
  Prices For(const std::string& backend) const;

  // What `usage` costs on its backend, one line per priced item, each
  // rounded half up to a micro-unit, and the fixed fee: cpu = cpu_micros /
  // 3.6e9 hours; memory = peak GiB x wall hours. The total is the lines'
  // sum.
  trenode::v1::Cost CostOf(const trenode::v1::Usage& usage) const;
  // What `byte_micros` of storage (bytes x micro-seconds) cost in a month
  // of `month_micros`, by the storage row: GiB-months = byte_micros /
  // (2^30 x month_micros), so a GiB kept for a whole month is one GiB-month
  // whatever the month's length. One "storage" line (none if unpriced),
  // rounded half up, exact through 128 bits, at most kMaxLineMicros.
  // `datasets`: priced by dataset_gib_month instead, a "datasets" line.
  trenode::v1::Cost StorageCostOf(__int128 byte_micros, int64_t month_micros,
                                  bool datasets = false) const;
  // What `bytes` sent out cost by the storage row: one "egress" line.
  trenode::v1::Cost EgressCostOf(int64_t bytes) const;

 private:
  std::string currency_;
  std::map<std::string, Prices> prices_;
};

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_PRICES_H_
