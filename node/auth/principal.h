// Who is calling: the authenticated identity every decision is made about.
#ifndef TRENODE_NODE_AUTH_PRINCIPAL_H_
#define TRENODE_NODE_AUTH_PRINCIPAL_H_

#include <string>

#include "absl/time/time.h"
#include "trenode/v1/roles.pb.h"

namespace trenode::auth {

struct Principal {
  enum class Kind { kPerson, kNode, kService };
  // The person's token subject, or the peer node's or service's name.
  std::string subject;
  // The one role this call is made in.
  trenode::v1::Role role = trenode::v1::ROLE_UNSPECIFIED;
  Kind kind = Kind::kPerson;
  // When the credential stops being valid (a token's exp); long-lived
  // calls such as streams end then.
  absl::Time expires = absl::InfiniteFuture();
  // A person of a partner node, acting here through that node (a federated
  // analysis): the partner's id, which vouches for `subject` and is taken
  // from its certificate. The person is then subject@home_node here, and
  // what they do is logged with `via` the partner. Empty: a person of this
  // node (or not a person).
  std::string home_node = {};

  // The node that vouches for this person: `home_node`, or `this_node`.
  const std::string& HomeOf(const std::string& this_node) const {
    return home_node.empty() ? this_node : home_node;
  }
};

}  // namespace trenode::auth

#endif  // TRENODE_NODE_AUTH_PRINCIPAL_H_
