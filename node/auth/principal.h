// Who is calling: the authenticated identity every decision is made about.
#ifndef TRENODE_NODE_AUTH_PRINCIPAL_H_
#define TRENODE_NODE_AUTH_PRINCIPAL_H_

#include <string>

#include "trenode/v1/roles.pb.h"

namespace trenode::auth {

struct Principal {
  // The person's subject, or the peer node's or service's name.
  std::string subject;
  trenode::v1::Role role = trenode::v1::ROLE_UNSPECIFIED;
};

}  // namespace trenode::auth

#endif  // TRENODE_NODE_AUTH_PRINCIPAL_H_
