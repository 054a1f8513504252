// A partner's report of what it charges for its part of a federated
// analysis (spec/charging.md, "Federated analyses"). The home node lists it
// on its statement as that partner reported it; it never trusts it for
// anything else. Pure; thread-safe.
#ifndef TRENODE_NODE_CHARGING_SITE_COSTS_H_
#define TRENODE_NODE_CHARGING_SITE_COSTS_H_

#include <optional>

#include "trenode/v1/analyses.pb.h"

namespace trenode::charging {

// The reported cost as the home node keeps it: its currency (three
// capital letters, ISO 4217 form) and total (0 to 2^60 micro-units), no
// lines. nullopt for anything else (a partner's garbage is not listed).
std::optional<trenode::v1::Cost> ReportedCost(const trenode::v1::Cost& reported);

}  // namespace trenode::charging

#endif  // TRENODE_NODE_CHARGING_SITE_COSTS_H_
