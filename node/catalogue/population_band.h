// Population sizes are published only as decade bands, never exact counts.
#ifndef TRENODE_NODE_CATALOGUE_POPULATION_BAND_H_
#define TRENODE_NODE_CATALOGUE_POPULATION_BAND_H_

#include <cstdint>

#include "trenode/v1/catalogue.pb.h"

namespace trenode::catalogue {

// The band holding `count` persons: [0,100) for 0..99, then [10^k, 10^(k+1))
// for k >= 2, up to "10,000,000 or more". Negative counts are treated as 0.
trenode::v1::PopulationBand PopulationBandFor(int64_t count);

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_POPULATION_BAND_H_
