#include "node/charging/prices.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/charging/money.h"

namespace trenode::charging {
namespace {

constexpr int64_t kMicrosPerHour = int64_t{3600} * 1'000'000;
constexpr int64_t kGiB = int64_t{1} << 30;

// "0.000834 cpu-hour": the quantity to 6 decimals, for people. Both
// non-negative, the denominator positive; a quantity past 10^12 units is
// shown as more than that.
std::string Quantity(__int128 numerator, __int128 denominator, const char* unit) {
  constexpr __int128 kMaxUnits = 1'000'000'000'000;
  if (numerator / denominator >= kMaxUnits) return absl::StrCat("> 1000000000000 ", unit);
  __int128 millionths = (numerator * 1'000'000 + denominator / 2) / denominator;
  return absl::StrFormat("%d.%06d %s", static_cast<int64_t>(millionths / 1'000'000),
                         static_cast<int64_t>(millionths % 1'000'000), unit);
}

}  // namespace

absl::StatusOr<PriceTable> PriceTable::FromConfig(const trenode::v1::ChargingConfig& config) {
  PriceTable table;
  table.currency_ = config.currency();
  if (config.prices_size() > 0 || !config.currency().empty()) {
    bool valid = config.currency().size() == 3;
    for (char c : config.currency()) valid = valid && absl::ascii_isupper(static_cast<unsigned char>(c));
    if (!valid) {
      return absl::InvalidArgumentError(absl::StrCat(
          "charging.currency: \"", config.currency(), "\" is not an ISO 4217 code such as GBP"));
    }
  }
  const std::set<std::string> known(std::begin(kBackends), std::end(kBackends));
  for (int i = 0; i < config.prices_size(); ++i) {
    const trenode::v1::PriceTable& row = config.prices(i);
    std::string where = absl::StrCat("charging.prices[", i, "]");
    if (!known.contains(row.backend())) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".backend: \"", row.backend(),
          "\" is not one of query, sandbox, slurm, aws-batch, azure-batch, storage"));
    }
    if (table.prices_.contains(row.backend())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".backend: \"", row.backend(), "\" has a row already"));
    }
    Prices prices;
    struct Field {
      const std::string& text;
      const char* name;
      int64_t* micros;
    };
    for (const Field& field : {Field{row.cpu_hour(), "cpu_hour", &prices.cpu_hour},
                               Field{row.memory_gib_hour(), "memory_gib_hour",
                                     &prices.memory_gib_hour},
                               Field{row.storage_gib_month(), "storage_gib_month",
                                     &prices.storage_gib_month},
                               Field{row.egress_gib(), "egress_gib", &prices.egress_gib},
                               Field{row.dataset_gib_month(), "dataset_gib_month",
                                     &prices.dataset_gib_month},
                               Field{row.per_analysis(), "per_analysis", &prices.per_analysis}}) {
      absl::StatusOr<int64_t> amount =
          ParseMoney(field.text, absl::StrCat(where, ".", field.name));
      if (!amount.ok()) return amount.status();
      if (*amount > kMaxPriceMicros) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".", field.name, ": \"", field.text, "\" is more than ",
            FormatMoney(kMaxPriceMicros), ", the most a price may be (costs are kept as 64-bit "
            "micro-units and must not overflow)"));
      }
      *field.micros = *amount;
    }
    // Storage and egress are the project's, not a backend's: they are priced
    // in the storage row alone, and it prices nothing else, so that no price
    // is accepted that would charge nothing.
    const bool storage_row = row.backend() == kStorageRow;
    for (const auto& [name, set] :
         {std::pair{"storage_gib_month", !row.storage_gib_month().empty()},
          std::pair{"dataset_gib_month", !row.dataset_gib_month().empty()},
          std::pair{"egress_gib", !row.egress_gib().empty()}}) {
      if (set && !storage_row) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".", name, ": storage and egress are priced in the \"storage\" row only"));
      }
    }
    for (const auto& [name, set] : {std::pair{"cpu_hour", !row.cpu_hour().empty()},
                                    std::pair{"memory_gib_hour", !row.memory_gib_hour().empty()},
                                    std::pair{"per_analysis", !row.per_analysis().empty()}}) {
      if (set && storage_row) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ".", name, ": the \"storage\" row prices storage_gib_month, dataset_gib_month and egress_gib only"));
      }
    }
    table.prices_[row.backend()] = prices;
  }
  return table;
}

Prices PriceTable::For(const std::string& backend) const {
  auto found = prices_.find(backend);
  return found == prices_.end() ? Prices() : found->second;
}

trenode::v1::Cost PriceTable::CostOf(const trenode::v1::Usage& usage) const {
  trenode::v1::Cost cost;
  cost.set_currency(currency_);
  Prices prices = For(usage.backend());
  int64_t total = 0;
  // Each line is at most kMaxLineMicros, so their sum is exact.
  auto line = [&](const char* item, std::string quantity, int64_t micros) {
    micros = std::clamp<int64_t>(micros, 0, kMaxLineMicros);
    trenode::v1::CostLine* added = cost.add_lines();
    added->set_item(item);
    added->set_quantity(std::move(quantity));
    added->set_micros(micros);
    total += micros;
  };
  // A usage is never negative: a counter that says so counts as 0.
  const int64_t cpu = std::max<int64_t>(usage.cpu_micros(), 0);
  const int64_t wall = std::max<int64_t>(usage.wall_micros(), 0);
  const int64_t memory = std::max<int64_t>(usage.peak_memory_bytes(), 0);
  if (prices.cpu_hour > 0) {
    line("cpu", Quantity(cpu, kMicrosPerHour, "cpu-hour"),
         MulDivRound(cpu, prices.cpu_hour, kMicrosPerHour));
  }
  if (prices.memory_gib_hour > 0) {
    line("memory",
         Quantity(static_cast<__int128>(memory) * wall,
                  static_cast<__int128>(kGiB) * kMicrosPerHour, "GiB-hour"),
         MulMulDivRound(memory, wall, prices.memory_gib_hour,
                        static_cast<__int128>(kGiB) * kMicrosPerHour));
  }
  if (prices.per_analysis > 0) line("fee", "1 analysis", prices.per_analysis);
  cost.set_total_micros(total);
  return cost;
}

trenode::v1::Cost PriceTable::StorageCostOf(__int128 byte_micros, int64_t month_micros,
                                            bool datasets) const {
  trenode::v1::Cost cost;
  cost.set_currency(currency_);
  const Prices row = For(kStorageRow);
  const int64_t price = datasets ? row.dataset_gib_month : row.storage_gib_month;
  if (price <= 0 || month_micros <= 0) return cost;
  if (byte_micros < 0) byte_micros = 0;
  const __int128 per = static_cast<__int128>(kGiB) * month_micros;  // < 2^72
  // Quotient and remainder apart, so that no product passes 2^127:
  // byte_micros < 2^87 gives a quotient below 2^16 and a remainder below
  // 2^72, each times a price below 2^50.
  const __int128 whole = byte_micros / per;
  const __int128 rest = byte_micros % per;
  __int128 micros = whole * price + (rest * price + per / 2) / per;
  if (micros > kMaxLineMicros) micros = kMaxLineMicros;
  auto* line = cost.add_lines();
  line->set_item(datasets ? "datasets" : "storage");
  line->set_quantity(Quantity(byte_micros, per, "GiB-month"));
  line->set_micros(static_cast<int64_t>(micros));
  cost.set_total_micros(line->micros());
  return cost;
}

trenode::v1::Cost PriceTable::EgressCostOf(int64_t bytes) const {
  trenode::v1::Cost cost;
  cost.set_currency(currency_);
  const int64_t price = For(kStorageRow).egress_gib;
  if (price <= 0) return cost;
  bytes = std::max<int64_t>(bytes, 0);
  auto* line = cost.add_lines();
  line->set_item("egress");
  line->set_quantity(Quantity(bytes, kGiB, "GiB"));
  line->set_micros(std::clamp<int64_t>(MulDivRound(bytes, price, kGiB), 0, kMaxLineMicros));
  cost.set_total_micros(line->micros());
  return cost;
}

}  // namespace trenode::charging
