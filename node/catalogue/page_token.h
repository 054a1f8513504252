// Opaque page tokens for ListDatasets and SearchDatasets. A token carries
// where the previous page ended and a fingerprint of the request it belongs
// to, so a token is refused for any other request.
#ifndef TRENODE_NODE_CATALOGUE_PAGE_TOKEN_H_
#define TRENODE_NODE_CATALOGUE_PAGE_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "node/catalogue/catalogue_store.h"

namespace trenode::catalogue {

std::string EncodeListToken(bool include_retired, const std::string& last_id);
// The id the previous page ended with. InvalidArgument for a token that was
// not issued for a listing with the same include_retired.
absl::StatusOr<std::string> DecodeListToken(const std::string& token, bool include_retired);

// `fingerprint` identifies the search (normalized words and flags).
std::string EncodeSearchToken(const std::string& fingerprint, const SearchCursor& last);
absl::StatusOr<SearchCursor> DecodeSearchToken(const std::string& token,
                                               const std::string& fingerprint);

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_PAGE_TOKEN_H_
