#include "adapters/cloud/xml.h"

#include <expat.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace trenode::adapters::cloud {
namespace {

struct ParserDeleter {
  void operator()(XML_Parser parser) const { XML_ParserFree(parser); }
};

// The elements open at the parser's position, outermost first.
struct TreeBuilder {
  XmlElement root;
  std::vector<XmlElement*> open;
};

void OnStart(void* user, const XML_Char* name, const XML_Char** /*attributes*/) {
  auto* builder = static_cast<TreeBuilder*>(user);
  if (builder->open.empty()) {
    builder->root.name = name;
    builder->open.push_back(&builder->root);
    return;
  }
  XmlElement* parent = builder->open.back();
  parent->children.push_back(XmlElement{name, "", {}});
  builder->open.push_back(&parent->children.back());
}

void OnEnd(void* user, const XML_Char* /*name*/) {
  static_cast<TreeBuilder*>(user)->open.pop_back();
}

void OnText(void* user, const XML_Char* text, int length) {
  auto* builder = static_cast<TreeBuilder*>(user);
  if (!builder->open.empty()) builder->open.back()->text.append(text, length);
}

}  // namespace

const XmlElement* XmlElement::Child(absl::string_view child_name) const {
  for (const XmlElement& child : children) {
    if (child.name == child_name) return &child;
  }
  return nullptr;
}

std::string XmlElement::ChildText(absl::string_view child_name) const {
  const XmlElement* child = Child(child_name);
  return child == nullptr ? std::string() : child->text;
}

absl::StatusOr<XmlElement> ParseXml(absl::string_view document) {
  std::unique_ptr<XML_ParserStruct, ParserDeleter> parser(XML_ParserCreate(nullptr));
  if (parser == nullptr) return absl::ResourceExhaustedError("cannot create an XML parser");
  TreeBuilder builder;
  XML_SetUserData(parser.get(), &builder);
  XML_SetElementHandler(parser.get(), &OnStart, &OnEnd);
  XML_SetCharacterDataHandler(parser.get(), &OnText);
  if (XML_Parse(parser.get(), document.data(), static_cast<int>(document.size()), 1) !=
      XML_STATUS_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed XML at line ", XML_GetCurrentLineNumber(parser.get()), ": ",
                     XML_ErrorString(XML_GetErrorCode(parser.get()))));
  }
  if (builder.root.name.empty()) return absl::InvalidArgumentError("XML document has no element");
  return builder.root;
}

}  // namespace trenode::adapters::cloud
