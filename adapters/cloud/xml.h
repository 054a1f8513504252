// A parsed XML document as a small tree, for the cloud services' replies
// (listings, errors). Parsed with expat, so no XML parser of our own; text
// is decoded (entities, CDATA) and namespaces are left as written.
#ifndef TRENODE_ADAPTERS_CLOUD_XML_H_
#define TRENODE_ADAPTERS_CLOUD_XML_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::adapters::cloud {

struct XmlElement {
  std::string name;
  std::string text;  // the character data directly inside this element
  std::vector<XmlElement> children;

  // The first child named `name`, or null.
  const XmlElement* Child(absl::string_view name) const;
  // The text of the first child named `name`, or "" if there is none.
  std::string ChildText(absl::string_view name) const;
};

// The document's root element; InvalidArgument if `document` is not
// well-formed XML.
absl::StatusOr<XmlElement> ParseXml(absl::string_view document);

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_XML_H_
